using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>A parsed label selector: equality-based and set-based requirements, all of which must hold.</summary>
public sealed class LabelSelector
{
    private readonly List<(string Key, string Op, HashSet<string> Values)> _requirements = [];

    /// <summary>The selector that matches everything.</summary>
    public static LabelSelector Everything { get; } = new();

    /// <summary>True when the selector has no requirement.</summary>
    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>Parses <c>a=b,c!=d,e in (f,g),h notin (i),j,!k</c>.</summary>
    /// <param name="text">The selector, or null.</param>
    /// <returns>The selector.</returns>
    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var part in SplitTopLevel(text))
        {
            var requirement = part.Trim();
            if (requirement.Length == 0)
            {
                throw ApiException.BadRequest($"unable to parse requirement: empty requirement in \"{text}\"");
            }

            var setOp = requirement.Contains(" notin ", StringComparison.Ordinal) ? "notin"
                : requirement.Contains(" in ", StringComparison.Ordinal) ? "in" : null;
            if (setOp is not null)
            {
                var at = requirement.IndexOf($" {setOp} ", StringComparison.Ordinal);
                var key = requirement[..at].Trim();
                var rest = requirement[(at + setOp.Length + 2)..].Trim();
                if (!rest.StartsWith('(') || !rest.EndsWith(')'))
                {
                    throw ApiException.BadRequest($"unable to parse requirement: values of \"{key}\" must be in parentheses");
                }

                var values = rest[1..^1].Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal);
                selector._requirements.Add((CheckKey(key), setOp, values));
            }
            else if (requirement.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Split(requirement, "!=");
                selector._requirements.Add((key, "!=", [value]));
            }
            else if (requirement.Contains("==", StringComparison.Ordinal))
            {
                var (key, value) = Split(requirement, "==");
                selector._requirements.Add((key, "=", [value]));
            }
            else if (requirement.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = Split(requirement, "=");
                selector._requirements.Add((key, "=", [value]));
            }
            else if (requirement.StartsWith('!'))
            {
                selector._requirements.Add((CheckKey(requirement[1..].Trim()), "!exists", []));
            }
            else
            {
                selector._requirements.Add((CheckKey(requirement), "exists", []));
            }
        }

        return selector;
    }

    /// <summary>Whether an object's labels satisfy every requirement.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>True on a match.</returns>
    public bool Matches(JsonObject obj)
    {
        if (_requirements.Count == 0)
        {
            return true;
        }

        var labels = obj["metadata"]?["labels"] as JsonObject;
        foreach (var (key, op, values) in _requirements)
        {
            var value = labels?[key] is JsonValue v ? (string?)v : null;
            var ok = op switch
            {
                "=" => value is not null && values.Contains(value),
                "!=" => value is null || !values.Contains(value),
                "in" => value is not null && values.Contains(value),
                "notin" => value is null || !values.Contains(value),
                "exists" => value is not null,
                "!exists" => value is null,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static (string Key, string Value) Split(string requirement, string op)
    {
        var at = requirement.IndexOf(op, StringComparison.Ordinal);
        return (CheckKey(requirement[..at].Trim()), requirement[(at + op.Length)..].Trim());
    }

    private static string CheckKey(string key) =>
        key.Length == 0 || key.Any(char.IsWhiteSpace)
            ? throw ApiException.BadRequest($"unable to parse requirement: invalid label key \"{key}\"")
            : key;

    // Commas inside "in (a,b)" do not separate requirements.
    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }
}

/// <summary>A parsed field selector: <c>field=value</c> and <c>field!=value</c> on the fields the type supports.</summary>
public sealed class FieldSelector
{
    private static readonly string[] CommonFields = ["metadata.name", "metadata.namespace"];

    private static readonly Dictionary<string, string[]> TypeFields = new(StringComparer.Ordinal)
    {
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP"],
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        ["nodes"] = ["spec.unschedulable"],
        ["secrets"] = ["type"],
        ["namespaces"] = ["status.phase"],
    };

    private readonly List<(string[] Path, bool Equal, string Value)> _requirements = [];

    /// <summary>The selector that matches everything.</summary>
    public static FieldSelector Everything { get; } = new();

    /// <summary>The single <c>metadata.name=</c> value, if that is a requirement (lets a watch skip other objects).</summary>
    public string? Name { get; private set; }

    /// <summary>Parses a selector for a type, refusing fields the type does not support.</summary>
    /// <param name="text">The selector, or null.</param>
    /// <param name="type">The resource type.</param>
    /// <returns>The selector.</returns>
    public static FieldSelector Parse(string? text, ResourceType type)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        var allowed = TypeFields.GetValueOrDefault(type.GroupResource, []);
        foreach (var part in text.Split(','))
        {
            var equal = !part.Contains("!=", StringComparison.Ordinal);
            var op = equal ? (part.Contains("==", StringComparison.Ordinal) ? "==" : "=") : "!=";
            var at = part.IndexOf(op, StringComparison.Ordinal);
            if (at <= 0)
            {
                throw ApiException.BadRequest($"invalid field selector: \"{part}\"");
            }

            var field = part[..at].Trim();
            var value = part[(at + op.Length)..].Trim();
            if (!CommonFields.Contains(field) && !allowed.Contains(field))
            {
                throw ApiException.BadRequest($"field label not supported: {field}");
            }

            if (field == "metadata.name" && equal)
            {
                selector.Name = value;
            }

            selector._requirements.Add((field.Split('.'), equal, value));
        }

        return selector;
    }

    /// <summary>Whether an object satisfies every requirement.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>True on a match.</returns>
    public bool Matches(JsonObject obj)
    {
        foreach (var (path, equal, value) in _requirements)
        {
            JsonNode? node = obj;
            foreach (var segment in path)
            {
                node = node?[segment];
            }

            var actual = node switch
            {
                null => "",
                JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
                _ => node.ToJsonString(),
            };
            if ((actual == value) != equal)
            {
                return false;
            }
        }

        return true;
    }
}
