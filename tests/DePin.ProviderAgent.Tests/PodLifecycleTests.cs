using System.Net;
using System.Text.Json.Nodes;
using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>The agent as a real process, running the test workload as pods.</summary>
public sealed class PodLifecycleTests
{
    [Fact]
    public async Task APod_ServesThroughItsReportedPort_IsUpdated_AndItsDeleteLeavesNoProcess()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("web");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/web/pods", AgentProcess.WorkloadPod("p1"), HttpStatusCode.Created);
        var pod = await agent.WaitRunningAsync("web", "p1");
        var port = AgentProcess.HostPort(pod);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        Assert.Equal("hello", await http.GetStringAsync("env/GREETING"));
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), await http.GetStringAsync("env/DEPIN_PORT_HTTP"));
        var firstPid = AgentProcess.Pid(pod);
        var child = int.Parse(await http.GetStringAsync("child"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(AgentDirectory.ProcessExists(child));

        // An update of the container's spec restarts it with the same host port.
        await agent.SendAsync(HttpMethod.Put, "v1/leases/web/pods/p1", AgentProcess.WorkloadPod("p1", env: "changed"));
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                return await http.GetStringAsync("env/GREETING") == "changed";
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        var updated = await agent.WaitRunningAsync("web", "p1");
        Assert.Equal(port, AgentProcess.HostPort(updated));
        Assert.NotEqual(firstPid, AgentProcess.Pid(updated));
        Assert.Empty(AgentDirectory.GroupMembers(firstPid));
        Assert.False(AgentDirectory.ProcessExists(child), "the update killed the old container's child too");

        // A delete returns once the whole process group is gone.
        var secondPid = AgentProcess.Pid(updated);
        var secondChild = int.Parse(await http.GetStringAsync("child"), System.Globalization.CultureInfo.InvariantCulture);
        await agent.SendAsync(HttpMethod.Delete, "v1/leases/web/pods/p1");
        Assert.Empty(AgentDirectory.GroupMembers(secondPid));
        Assert.False(AgentDirectory.ProcessExists(secondChild));
        Assert.False(AgentDirectory.ProcessExists(secondPid));
        await agent.SendAsync(HttpMethod.Get, "v1/leases/web/pods/p1", expect: HttpStatusCode.NotFound);
        Assert.Empty((await agent.SendAsync(HttpMethod.Get, "v1/leases/web/pods"))["items"]!.AsArray());
    }

    [Fact]
    public async Task AContainerWithoutCommand_RunsTheProgramTheProviderSetForItsImage_WithItsArgs()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data, null, null, "--runtime-images", $"example.org/web:1.0={AgentProcess.WorkloadProgram}");
        await agent.CreateLeaseAsync("mapped");

        // An image with no program is refused up front, naming the container and the image.
        var unmapped = AgentProcess.WorkloadPod("p0");
        var container = unmapped["spec"]!["containers"]![0]!.AsObject();
        container.Remove("command");
        container["image"] = "example.org/other:1.0";
        var refusal = await agent.SendAsync(HttpMethod.Post, "v1/leases/mapped/pods", unmapped, HttpStatusCode.BadRequest);
        Assert.Contains("container web", refusal.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("example.org/other:1.0 has no program here", refusal.ToJsonString(), StringComparison.Ordinal);

        var pod = AgentProcess.WorkloadPod("p1");
        container = pod["spec"]!["containers"]![0]!.AsObject();
        container.Remove("command");
        container["image"] = "example.org/web:1.0";
        container["args"] = new JsonArray("$(PORT)", "2");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/mapped/pods", pod, HttpStatusCode.Created);
        var running = await agent.WaitRunningAsync("mapped", "p1");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AgentProcess.HostPort(running)}/") };
        string? greeting = null;
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                greeting = await http.GetStringAsync("env/GREETING");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20));
        Assert.Equal("hello", greeting);
        Assert.StartsWith("line 1\nline 2\n", await agent.Http.GetStringAsync("v1/leases/mapped/pods/p1/logs"), StringComparison.Ordinal);
        await agent.SendAsync(HttpMethod.Delete, "v1/leases/mapped/pods/p1");
    }

    [Fact]
    public async Task Logs_SupportTailAndFollow()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("logs");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/logs/pods", AgentProcess.WorkloadPod("p1", lines: 5), HttpStatusCode.Created);
        var pod = await agent.WaitRunningAsync("logs", "p1");

        var tail = await agent.Http.GetStringAsync("v1/leases/logs/pods/p1/logs?tailLines=2");
        Assert.Equal(["line 5", $"listening on {AgentProcess.HostPort(pod)}"], tail.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var all = await agent.Http.GetStringAsync("v1/leases/logs/pods/p1/logs");
        Assert.StartsWith("line 1\nline 2\n", all, StringComparison.Ordinal);

        using var follow = await agent.Http.GetAsync("v1/leases/logs/pods/p1/logs?follow=true&tailLines=0", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await follow.Content.ReadAsStreamAsync());
        using var http = new HttpClient();
        await http.GetStringAsync($"http://127.0.0.1:{AgentProcess.HostPort(pod)}/say/followed-line");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal("followed-line", await reader.ReadLineAsync(timeout.Token));

        await agent.SendAsync(HttpMethod.Delete, "v1/leases/logs/pods/p1");
    }

    [Fact]
    public async Task ExitedContainers_RestartPerPolicy_WithTheirExitCodes()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("crash");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/crash/pods", AgentProcess.WorkloadPod("always"), HttpStatusCode.Created);
        await agent.SendAsync(HttpMethod.Post, "v1/leases/crash/pods", AgentProcess.WorkloadPod("never", restartPolicy: "Never"), HttpStatusCode.Created);
        var always = await agent.WaitRunningAsync("crash", "always");
        var never = await agent.WaitRunningAsync("crash", "never");
        using var http = new HttpClient();

        await http.GetStringAsync($"http://127.0.0.1:{AgentProcess.HostPort(always)}/exit/3");
        await http.GetStringAsync($"http://127.0.0.1:{AgentProcess.HostPort(never)}/exit/4");

        JsonObject? restarted = null;
        await Eventually.UntilAsync(async () =>
        {
            restarted = await agent.WaitRunningAsync("crash", "always");
            return restarted["status"]!["containerStatuses"]![0]!["restartCount"]!.GetValue<int>() == 1;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(3, restarted!["status"]!["containerStatuses"]![0]!["lastState"]!["terminated"]!["exitCode"]!.GetValue<int>());
        Assert.Equal(AgentProcess.HostPort(always), AgentProcess.HostPort(restarted));

        JsonObject? failed = null;
        await Eventually.UntilAsync(async () =>
        {
            failed = await agent.SendAsync(HttpMethod.Get, "v1/leases/crash/pods/never");
            return failed["status"]!["phase"]!.GetValue<string>() == "Failed";
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(4, failed!["status"]!["containerStatuses"]![0]!["state"]!["terminated"]!["exitCode"]!.GetValue<int>());

        await agent.SendAsync(HttpMethod.Delete, "v1/leases/crash");
    }

    [Fact]
    public async Task AnAgentRestart_KeepsPodsRunning_WithTheSamePorts_AndNoDuplicate()
    {
        using var directory = new AgentDirectory();
        var port = AgentProcess.FreePort();
        var agent = await AgentProcess.StartAsync(directory.Data, port);
        var key = agent.KeyHex;
        await agent.CreateLeaseAsync("keep");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/keep/pods", AgentProcess.WorkloadPod("a"), HttpStatusCode.Created);
        await agent.SendAsync(HttpMethod.Post, "v1/leases/keep/pods", AgentProcess.WorkloadPod("b"), HttpStatusCode.Created);
        var before = new[] { await agent.WaitRunningAsync("keep", "a"), await agent.WaitRunningAsync("keep", "b") };

        // A crash of the agent, not a clean stop.
        await agent.KillAsync();
        await agent.DisposeAsync();
        await using var restarted = await AgentProcess.StartAsync(directory.Data, port, key);

        foreach (var pod in before)
        {
            var name = pod["metadata"]!["name"]!.GetValue<string>();
            var after = await restarted.WaitRunningAsync("keep", name);
            Assert.Equal(AgentProcess.HostPort(pod), AgentProcess.HostPort(after));
            Assert.Equal(AgentProcess.Pid(pod), AgentProcess.Pid(after));
            Assert.Equal(0, after["status"]!["containerStatuses"]![0]!["restartCount"]!.GetValue<int>());
            var uid = after["metadata"]!["uid"]!.GetValue<string>();
            Assert.Equal(pod["metadata"]!["uid"]!.GetValue<string>(), uid);

            // One supervisor shell and one workload process: nothing started twice.
            Assert.Equal(2, AgentDirectory.ProcessesOfPod(uid).Count);
        }

        await restarted.SendAsync(HttpMethod.Delete, "v1/leases/keep");
    }

    [Fact]
    public async Task APodThatStaysReady_KeepsItsReadyTransitionTime_AcrossRendersAndAnAgentRestart()
    {
        using var directory = new AgentDirectory();
        var port = AgentProcess.FreePort();
        string key;
        DateTime first;
        await using (var agent = await AgentProcess.StartAsync(directory.Data, port))
        {
            key = agent.KeyHex;
            await agent.CreateLeaseAsync("steady");
            await agent.SendAsync(HttpMethod.Post, "v1/leases/steady/pods", AgentProcess.WorkloadPod("p"), HttpStatusCode.Created);
            first = ReadySince(await agent.WaitRunningAsync("steady", "p"));

            // Read again once the clock is well past the transition: the time has not moved.
            await Eventually.UntilAsync(() => Task.FromResult(DateTime.UtcNow > first.AddSeconds(1.5)), TimeSpan.FromSeconds(10));
            Assert.Equal(first, ReadySince(await agent.WaitRunningAsync("steady", "p")));

            // Nor across a crash and restart of the agent, the pod running on meanwhile.
            await agent.KillAsync();
        }

        await using var restarted = await AgentProcess.StartAsync(directory.Data, port, key);
        Assert.Equal(first, ReadySince(await restarted.WaitRunningAsync("steady", "p")));
        await restarted.SendAsync(HttpMethod.Delete, "v1/leases/steady");
    }

    private static DateTime ReadySince(JsonObject pod)
    {
        var conditions = pod["status"]!["conditions"]!.AsArray();
        var ready = conditions.Single(c => c!["type"]!.GetValue<string>() == "Ready")!;
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        var containersReady = conditions.Single(c => c!["type"]!.GetValue<string>() == "ContainersReady")!;
        Assert.Equal(ready["lastTransitionTime"]!.GetValue<DateTime>(), containersReady["lastTransitionTime"]!.GetValue<DateTime>());
        return ready["lastTransitionTime"]!.GetValue<DateTime>().ToUniversalTime();
    }

    [Fact]
    public async Task Quotes_PriceAReplica_AndOfferWhatFits()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data, extra: ["--capacity-cpu", "2", "--pricing-cpu-core-hour", "0.1", "--pricing-memory-gib-hour", "0", "--pricing-storage-gib-hour", "0", "--evm-region", "eu-central"]);
        JsonObject Request(string max) => new()
        {
            ["replicas"] = 3,
            ["resources"] = new JsonObject { ["cpuMillis"] = 1000, ["memoryMiB"] = 256 },
            ["maxPricePerHour"] = max,
        };

        var quote = await agent.SendAsync(HttpMethod.Post, "v1/quotes", Request("200000"));
        var refused = await agent.SendAsync(HttpMethod.Post, "v1/quotes", Request("50000"));

        Assert.True(quote["accepted"]!.GetValue<bool>());
        Assert.Equal("100000", quote["pricePerHour"]!.GetValue<string>());
        Assert.Equal(2, quote["replicas"]!.GetValue<int>());
        Assert.Equal("eu-central", quote["region"]!.GetValue<string>());
        Assert.False(refused["accepted"]!.GetValue<bool>());
        Assert.Contains("exceeds the maximum 50000", refused["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
