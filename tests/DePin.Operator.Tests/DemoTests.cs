using System.Diagnostics;
using DePin.Testing;

namespace DePin.Operator.Tests;

/// <summary><c>make demo ARGS=--exit</c>: the whole story, run as the README's first command runs it.</summary>
public sealed class DemoTests
{
    [AnvilFact]
    public async Task TheDemo_TellsTheWholeStory_WithMeasuredFigures_AndExitsZero()
    {
        var demo = RepositoryPaths.Of("hack", "Demo", "bin", AgentProcess.Configuration, "net10.0", "Demo.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryPaths.Root };
        start.ArgumentList.Add(demo);
        start.ArgumentList.Add("--exit");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output;
        Assert.True(process.ExitCode == 0, $"the demo exited with {process.ExitCode}: {await error}\n{text}");

        // Every step of the story, in order, each with the seconds this run measured.
        var steps = new[]
        {
            "order 1 posted on chain", "bid ", "decision: Accepted", "lease 1 with", "Ready: the providers' signed heartbeats verify",
            "Running at the providers", "the workload answers through the provider: GET", "kubectl wait --for=condition=Ready dpd/web: condition met", "killed with SIGKILL", "fallback: cloud pod",
            "status.lastFailover: HeartbeatLost", "re-auction: order 2 without", "failback: the cloud pod removed after", "Ready replicas never fell below 2",
            "done (--exit)",
        };
        var at = 0;
        foreach (var step in steps)
        {
            var found = text.IndexOf(step, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"the timeline lacks \"{step}\" after position {at}:\n{text}");
            at = found;
        }

        Assert.Matches(@"fallback: web-fb-\w+ Ready on cloud-\d \(\+\d+\.\d\d s after kill\)", text);
    }
}
