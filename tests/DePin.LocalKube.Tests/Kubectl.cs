using System.Diagnostics;

namespace DePin.LocalKube.Tests;

/// <summary>Runs the real kubectl: the one `make tools` installs into hack/tools/bin, else the one on PATH.</summary>
internal static class Kubectl
{
    public static string? Path { get; } = Find();

    public static string? MissingReason => Path is null ? "kubectl is not on PATH and hack/tools/bin/kubectl is missing (run `make tools`)" : null;

    public static async Task<(int Exit, string Out, string Err)> RunAsync(string kubeconfig, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException(MissingReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--kubeconfig");
        start.ArgumentList.Add(kubeconfig);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not finish in 60 s");
        }

        return (process.ExitCode, await output, await error);
    }

    private static string? Find()
    {
        var local = DePin.Testing.RepositoryPaths.Of("hack", "tools", "bin", "kubectl");
        if (File.Exists(local))
        {
            return local;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator))
        {
            var candidate = System.IO.Path.Combine(dir, "kubectl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A test that needs kubectl; skipped, with the reason, where there is none.</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (Kubectl.MissingReason is { } reason)
        {
            Skip = reason;
        }
    }
}
