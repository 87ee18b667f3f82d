using System.Text;
using System.Text.RegularExpressions;

namespace DePin.Testing;

/// <summary>A command a document shows: the file, and the command as a reader would type it.</summary>
public sealed record DocumentedCommand(string File, string Text);

/// <summary>
/// The commands the README and the docs show a reader: every line of their <c>sh</c> code blocks
/// (continuations joined, comments dropped) and every inline code span of a command with its
/// arguments (<c>kubectl get dpd -A</c>, <c>make demo</c>; a bare <c>kubectl wait</c> names a command
/// in prose and is not one).
/// </summary>
public static partial class DocumentedCommands
{
    private static readonly string[] Tools = ["kubectl", "helm", "docker", "dotnet", "make", "provider-agent"];

    /// <summary>The documents, relative to the repository root.</summary>
    public static IReadOnlyList<string> Documents { get; } =
    [
        "README.md",
        .. Directory.GetFiles(RepositoryPaths.Of("docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal),
        "charts/depin-operator/README.md",
        "provider-agent/README.md",
        "hack/LocalKube/README.md",
    ];

    /// <summary>Every command of every document.</summary>
    public static IReadOnlyList<DocumentedCommand> All() => [.. Documents.SelectMany(d => In(d).Select(c => new DocumentedCommand(d, c)))];

    /// <summary>The commands of the <c>sh</c> block of a document that holds a given text, in order.</summary>
    /// <exception cref="InvalidOperationException">No block of the document holds it.</exception>
    public static IReadOnlyList<string> Block(string document, string containing)
    {
        var block = Blocks(Read(document)).FirstOrDefault(b => b.Any(c => c.Contains(containing, StringComparison.Ordinal)));
        return block ?? throw new InvalidOperationException($"{document} has no sh block with \"{containing}\"");
    }

    /// <summary>The inline command of a document that starts with a given text.</summary>
    /// <exception cref="InvalidOperationException">The document shows no such command.</exception>
    public static string Inline(string document, string startingWith) =>
        Spans(Read(document)).FirstOrDefault(c => c.StartsWith(startingWith, StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"{document} shows no command starting with \"{startingWith}\"");

    /// <summary>Splits a command into words as a POSIX shell would for the simple commands docs show: blanks separate words, and single or double quotes group them.</summary>
    public static IReadOnlyList<string> Words(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in command)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else if (c is '|' or '&' or ';' or '<' or '>' or '$' or '`' or '*')
            {
                throw new InvalidOperationException($"\"{command}\" needs a shell ({c}); a documented command here is a simple command");
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (quote is not null)
        {
            throw new InvalidOperationException($"\"{command}\" has an unterminated quote");
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    private static string Read(string document) => File.ReadAllText(RepositoryPaths.Of(document.Split('/')));

    private static IEnumerable<string> In(string document)
    {
        var text = Read(document);
        return Blocks(text).SelectMany(b => b).Concat(Spans(text));
    }

    // The commands of each sh code block.
    private static IEnumerable<List<string>> Blocks(string markdown)
    {
        foreach (Match block in ShellBlock().Matches(markdown))
        {
            var commands = new List<string>();
            var pending = "";
            foreach (var raw in block.Groups[1].Value.Split('\n'))
            {
                var line = pending + raw;
                if (line.EndsWith('\\'))
                {
                    pending = line[..^1];
                    continue;
                }

                pending = "";
                var command = TrailingComment().Replace(line, "").Trim();
                if (command.Length > 0 && !command.StartsWith('#'))
                {
                    commands.Add(Regex.Replace(command, @"\s+", " "));
                }
            }

            yield return commands;
        }
    }

    // Inline code spans outside code blocks that are a command with arguments.
    private static IEnumerable<string> Spans(string markdown)
    {
        var prose = AnyBlock().Replace(markdown, "");
        foreach (Match span in InlineCode().Matches(prose))
        {
            var words = span.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0 && Tools.Contains(words[0]) && (words[0] == "make" ? words.Length >= 2 : words.Length >= 3))
            {
                yield return string.Join(' ', words);
            }
        }
    }

    [GeneratedRegex(@"^```(?:sh|bash|shell)\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex AnyBlock();

    [GeneratedRegex(@"(?<!`)`([^`\n]+)`(?!`)")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"\s+#\s.*$")]
    private static partial Regex TrailingComment();
}
