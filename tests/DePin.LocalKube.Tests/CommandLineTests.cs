using System.Diagnostics;
using DePin.Testing;

namespace DePin.LocalKube.Tests;

/// <summary>LocalKube as a process, as hack/LocalKube/README.md shows it.</summary>
public sealed class CommandLineTests
{
    [KubectlFact]
    public async Task TheReadmesCommands_WriteAKubeconfigKubectlUses_AndTheServerServesUntilStopped()
    {
        // The README's block: LocalKube through dotnet run, the kubeconfig exported, then kubectl.
        // The server runs from the build the tests already made (the build is what dotnet run adds),
        // and the kubeconfig goes to a file of this test's own.
        var block = DocumentedCommands.Block("hack/LocalKube/README.md", "dotnet run --project hack/LocalKube");
        const string Run = "dotnet run --project hack/LocalKube -- ";
        Assert.StartsWith(Run, block[0], StringComparison.Ordinal);
        var readmeKubeconfig = Assert.Single(block, c => c.StartsWith("export KUBECONFIG=", StringComparison.Ordinal))["export KUBECONFIG=".Length..];
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"localkube-cli-{Guid.NewGuid():N}.kubeconfig");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in DocumentedCommands.Words(block[0][Run.Length..].Replace(readmeKubeconfig, kubeconfig, StringComparison.Ordinal)).Prepend(Path.Combine(AppContext.BaseDirectory, "LocalKube.dll")))
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

            string? last = null;
            foreach (var command in block.Skip(1).Where(c => !c.StartsWith("export ", StringComparison.Ordinal)))
            {
                var words = DocumentedCommands.Words(command);
                Assert.Equal("kubectl", words[0]);
                var result = await CommandLine.RunAsync("kubectl", words.Skip(1), new CommandOptions { Environment = new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig } });
                Assert.True(result.Exit == 0, $"{command}: {result.Error}");
                last = result.Output;
            }

            Assert.Matches(@"(?m)^web +", last!);

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
