using System.Diagnostics;

namespace DePin.Testing;

/// <summary>What a finished command returned.</summary>
/// <param name="Exit">Its exit code.</param>
/// <param name="Output">What it wrote to standard output.</param>
/// <param name="Error">What it wrote to standard error.</param>
public sealed record CommandResult(int Exit, string Output, string Error);

/// <summary>How to run a command.</summary>
public sealed record CommandOptions
{
    /// <summary>Variables added to the environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The working directory; the repository root by default.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Written to standard input, which is then closed; none by default.</summary>
    public string? Input { get; init; }

    /// <summary>How long it may run before it is killed. Default 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Runs command-line tools (kubectl, helm, node, docker, dotnet) as processes for tests, the demo and
/// the benchmarks, preferring the copies <c>make tools</c> installs into hack/tools/bin.
/// </summary>
public static class CommandLine
{
    /// <summary>A tool from hack/tools/bin, else from PATH; null when neither has it.</summary>
    /// <param name="name">The tool's file name, for example <c>kubectl</c>.</param>
    /// <returns>Its path, or null.</returns>
    public static string? Find(string name)
    {
        var local = RepositoryPaths.Of("hack", "tools", "bin", name);
        if (File.Exists(local))
        {
            return local;
        }

        return (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Runs a command to its end.</summary>
    /// <param name="program">A path, or a name looked up with <see cref="Find"/>.</param>
    /// <param name="arguments">Its arguments, each passed as it is.</param>
    /// <param name="options">Environment, working directory, input and time limit.</param>
    /// <returns>The exit code and output.</returns>
    /// <exception cref="TimeoutException">It ran longer than the time limit and was killed.</exception>
    public static async Task<CommandResult> RunAsync(string program, IEnumerable<string> arguments, CommandOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        options ??= new CommandOptions();
        var start = new ProcessStartInfo(program.Contains('/', StringComparison.Ordinal) ? program : Find(program) ?? program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = options.Input is not null,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? RepositoryPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        if (options.Input is not null)
        {
            await process.StandardInput.WriteAsync(options.Input).ConfigureAwait(false);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(options.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(program)} {string.Join(' ', start.ArgumentList)} did not finish in {options.Timeout.TotalSeconds:0} s");
        }

        return new CommandResult(process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }

    /// <summary>Runs a command that must succeed, and returns its standard output.</summary>
    /// <param name="program">A path, or a name looked up with <see cref="Find"/>.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="options">Environment, working directory, input and time limit.</param>
    /// <returns>Its standard output.</returns>
    /// <exception cref="InvalidOperationException">It exited with another code than 0; the message holds its standard error.</exception>
    public static async Task<string> OutputOfAsync(string program, IEnumerable<string> arguments, CommandOptions? options = null)
    {
        var list = arguments.ToList();
        var result = await RunAsync(program, list, options).ConfigureAwait(false);
        return result.Exit == 0
            ? result.Output
            : throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', list)} exited with {result.Exit}: {result.Error}{result.Output}");
    }
}
