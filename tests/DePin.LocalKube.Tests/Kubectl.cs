using DePin.Testing;

namespace DePin.LocalKube.Tests;

/// <summary>Runs the real kubectl: the one `make tools` installs into hack/tools/bin, else the one on PATH.</summary>
internal static class Kubectl
{
    public static string? Path { get; } = CommandLine.Find("kubectl");

    public static string? MissingReason => Path is null ? "kubectl is not on PATH and hack/tools/bin/kubectl is missing (run `make tools`)" : null;

    public static async Task<(int Exit, string Out, string Err)> RunAsync(string kubeconfig, string? stdin, params string[] args)
    {
        var result = await CommandLine.RunAsync(Path ?? throw new InvalidOperationException(MissingReason), ["--kubeconfig", kubeconfig, .. args], new CommandOptions { Input = stdin });
        return (result.Exit, result.Output, result.Error);
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
