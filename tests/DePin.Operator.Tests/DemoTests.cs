using DePin.Testing;

namespace DePin.Operator.Tests;

/// <summary><c>make demo ARGS=--exit</c>: the whole story, run as the README's first command runs it.</summary>
public sealed class DemoTests
{
    [AnvilFact]
    public async Task TheDemo_TellsTheWholeStory_WithMeasuredFigures_AndExitsZero()
    {
        var demo = RepositoryPaths.Of("hack", "Demo", "bin", AgentProcess.Configuration, "net10.0", "Demo.dll");
        var result = await CommandLine.RunAsync("dotnet", [demo, "--exit"], new CommandOptions { Timeout = TimeSpan.FromMinutes(4) });
        var text = result.Output;
        Assert.True(result.Exit == 0, $"the demo exited with {result.Exit}: {result.Error}\n{text}");

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
