using System.Net;
using System.Text.Json.Nodes;
using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>What <c>/v1/node</c> reports: the leases and the capacity they hold, as one snapshot.</summary>
public sealed class CapacityViewTests
{
    [Fact]
    public async Task WhileLeasesComeAndGo_TheNodeView_NeverShowsCapacityWithoutItsLease_OrALeaseWithoutItsCapacity()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);

        // A reader as fast as it can go, beside leases that open and close one after the other.
        using var stop = new CancellationTokenSource();
        var torn = new List<string>();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var node = JsonNode.Parse(await agent.Http.GetStringAsync("v1/node"))!;
                var (leases, cpu) = (node["leases"]!.GetValue<int>(), node["used"]!["cpuMillis"]!.GetValue<long>());
                reads++;
                if (cpu != leases * 1000L)
                {
                    torn.Add($"{leases} lease(s) holding {cpu}m CPU");
                }
            }
        });

        for (var i = 0; i < 40 && !reader.IsCompleted; i++)
        {
            await agent.CreateLeaseAsync($"l{i}", replicas: 1, cpuMillis: 1000, memoryMiB: 64);
            await agent.SendAsync(HttpMethod.Delete, $"v1/leases/l{i}", null, HttpStatusCode.NoContent);
        }

        await stop.CancelAsync();
        await reader;
        Assert.True(reads > 40, $"only {reads} reads of /v1/node");
        Assert.True(torn.Count == 0, $"{torn.Count} of {reads} reads were torn, such as: {string.Join("; ", torn.Distinct().Take(5))}");
    }
}
