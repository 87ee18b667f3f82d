using System.Net;
using DePin.Ethereum;
using DePin.Testing;

namespace DePin.Marketplace.Tests;

/// <summary>The operator's client of the agent API, against a real agent in static mode.</summary>
public sealed class AgentClientTests
{
    [Fact]
    public async Task Pods_AreCreatedReadListedLoggedUpdatedAndDeleted()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("web");
        using var http = new HttpClient();
        var client = new AgentClient(http, agent.Http.BaseAddress!, AgentCredentials.Bearer(AgentProcess.Token));

        var created = await client.CreatePodAsync("web", AgentProcess.WorkloadPod("p1", lines: 3));
        Assert.Equal("p1", created["metadata"]!["name"]!.GetValue<string>());
        var running = await agent.WaitRunningAsync("web", "p1");
        Assert.Equal(AgentProcess.HostPort(running), AgentProcess.HostPort((await client.GetPodAsync("web", "p1"))!));
        Assert.Single(await client.ListPodsAsync("web"));
        Assert.Contains("line 3", await client.LogsAsync("web", "p1", tailLines: 2), StringComparison.Ordinal);

        await client.UpdatePodAsync("web", AgentProcess.WorkloadPod("p1", env: "updated"));
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                return await http.GetStringAsync($"http://127.0.0.1:{AgentProcess.HostPort(running)}/env/GREETING") == "updated";
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));

        Assert.True(await client.DeletePodAsync("web", "p1"));
        Assert.False(await client.DeletePodAsync("web", "p1"));
        Assert.Null(await client.GetPodAsync("web", "p1"));
    }

    [Fact]
    public async Task Refusals_CarryTheAgentsStatusAndMessage()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("small", replicas: 1, cpuMillis: 100);
        using var http = new HttpClient();
        var client = new AgentClient(http, agent.Http.BaseAddress!, AgentCredentials.Bearer(AgentProcess.Token));
        var wrong = new AgentClient(http, agent.Http.BaseAddress!, AgentCredentials.Bearer("not-the-token-0123456789"));
        var nowhere = new AgentClient(http, new Uri($"http://127.0.0.1:{AgentProcess.FreePort()}/"), AgentCredentials.Bearer(AgentProcess.Token));

        var tooBig = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.CreatePodAsync("small", AgentProcess.WorkloadPod("big", cpu: "2")));
        var unauthorized = await Assert.ThrowsAsync<AgentRequestFailedException>(() => wrong.ListPodsAsync("small"));
        var unreachable = await Assert.ThrowsAsync<AgentRequestFailedException>(() => nowhere.ListPodsAsync("small"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooBig.Status);
        Assert.Contains("would need 2000m CPU", tooBig.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.Status);
        Assert.Null(unreachable.Status);
        Assert.Contains("unreachable", unreachable.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-token", AgentCredentials.Bearer("not-the-token-0123456789").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Heartbeats_AreVerified_AndTheStreamEndsWithTheAgent()
    {
        using var directory = new AgentDirectory();
        var agent = await AgentProcess.StartAsync(directory.Data);
        using var http = new HttpClient();
        var client = new AgentClient(http, agent.Http.BaseAddress!, AgentCredentials.Bearer(AgentProcess.Token));
        var provider = PrivateKey.FromHex(agent.KeyHex).Address;
        var impostor = PrivateKey.FromHex(new string('2', 64)).Address;

        Assert.Equal(provider.ToString(), (await client.HeartbeatAsync(provider)).Provider);
        await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.HeartbeatAsync(impostor));

        var received = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ended = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await foreach (var beat in client.HeartbeatStreamAsync(provider, timeout.Token))
            {
                if (++received == 2)
                {
                    ended.Restart();
                    await agent.KillAsync();
                }
            }
        }
        catch (IOException)
        {
            // A reset connection ends the stream as surely as an orderly end.
        }
        catch (HttpRequestException)
        {
        }

        Assert.True(received >= 2);
        Assert.True(ended.Elapsed < TimeSpan.FromSeconds(2), $"the stream ended {ended.Elapsed} after the kill");
        await agent.DisposeAsync();
    }
}
