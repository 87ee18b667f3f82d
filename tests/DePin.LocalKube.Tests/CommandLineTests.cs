using System.Diagnostics;
using DePin.Testing;

namespace DePin.LocalKube.Tests;

/// <summary>LocalKube as a process, as hack/LocalKube/README.md shows it.</summary>
public sealed class CommandLineTests
{
    [KubectlFact]
    public async Task Command_WritesAKubeconfigKubectlUses_ServesUntilStopped()
    {
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"localkube-cli-{Guid.NewGuid():N}.kubeconfig");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "LocalKube.dll"), "--port", "0", "--kubeconfig", kubeconfig, "--cloud-nodes", "3" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? line;
            do
            {
                line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            while (line is not null && !line.StartsWith("LocalKube serving at http://127.0.0.1:", StringComparison.Ordinal));

            Assert.NotNull(line);
            Assert.True(File.Exists(kubeconfig));

            var nodes = await Kubectl.RunAsync(kubeconfig, null, "get", "nodes", "-o", "name");
            Assert.True(nodes.Exit == 0, nodes.Err);
            Assert.Equal(["node/cloud-0", "node/cloud-1", "node/cloud-2"], nodes.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            Assert.Equal(0, (await Kubectl.RunAsync(kubeconfig, null, "apply", "-f", RepositoryPaths.Of("crds"))).Exit);
            Assert.Equal(0, (await Kubectl.RunAsync(kubeconfig, null, "apply", "-f", RepositoryPaths.Of("crds", "examples", "web-service.yaml"))).Exit);
            var dpd = await Kubectl.RunAsync(kubeconfig, null, "get", "dpd");
            Assert.Contains("web", dpd.Out, StringComparison.Ordinal);

            using var http = new HttpClient { BaseAddress = new Uri(line["LocalKube serving at ".Length..]) };
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostAsync("/localkube/faults/compact", null)).StatusCode);
            Assert.False(process.HasExited);
        }
        finally
        {
            // SIGTERM, as a user's Ctrl+C or a test harness would stop it.
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(exit.Token);
            File.Delete(kubeconfig);
        }

        Assert.Equal(0, process.ExitCode);
    }
}
