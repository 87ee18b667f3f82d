using System.Net;
using System.Text.Json.Nodes;
using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>The template's readiness, liveness and startup probes, run by the agent on the process runtime against the real test workload.</summary>
public sealed class ProbeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task AReadinessProbe_DecidesReady_WithoutRestarting_AndAPortNobodyServes_IsNeverReady()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("ready");
        await agent.SendAsync(HttpMethod.Post, "v1/leases/ready/pods", Probed("p1", "readinessProbe", HttpGet("/healthz", "http"), failureThreshold: 1), HttpStatusCode.Created);
        await agent.SendAsync(HttpMethod.Post, "v1/leases/ready/pods", Probed("p2", "readinessProbe", new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = "admin" } }), HttpStatusCode.Created);

        var pod = await RunningAsync(agent, "ready", "p1");
        pod = await UntilAsync(agent, "ready", "p1", p => Ready(p) && (bool)Container(p)["ready"]!);
        var pid = AgentProcess.Pid(pod);
        var readySince = Condition(pod, "Ready")["lastTransitionTime"]!.GetValue<DateTime>();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AgentProcess.HostPort(pod)}/") };

        // The workload answers 503 on /healthz: the pod is not Ready, and keeps running.
        await http.GetStringAsync("sick");
        pod = await UntilAsync(agent, "ready", "p1", p => !Ready(p));
        Assert.False((bool)Container(pod)["ready"]!);
        Assert.True((bool)Container(pod)["started"]!);
        Assert.NotNull(Container(pod)["state"]!["running"]);
        Assert.Equal(0, (int)Container(pod)["restartCount"]!);
        Assert.Equal(pid, AgentProcess.Pid(pod));
        Assert.True(Condition(pod, "Ready")["lastTransitionTime"]!.GetValue<DateTime>() > readySince);

        await http.GetStringAsync("well");
        pod = await UntilAsync(agent, "ready", "p1", Ready);
        Assert.Equal(pid, AgentProcess.Pid(pod));

        // The second pod's container runs, but nothing listens on the port its probe names: never Ready.
        var idle = await RunningAsync(agent, "ready", "p2");
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            idle = await agent.SendAsync(HttpMethod.Get, "v1/leases/ready/pods/p2");
            Assert.False(Ready(idle), idle.ToJsonString());
            Assert.Equal("Running", idle["status"]!["phase"]!.GetValue<string>());
        }

        Assert.Equal(0, (int)Container(idle)["restartCount"]!);
    }

    [Fact]
    public async Task ALivenessProbe_RestartsTheContainer_PerTheRestartPolicy()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data, null, null, "--runtime-restart-backoff", "100ms");
        await agent.CreateLeaseAsync("live");
        // A startup probe waits for the workload to listen, so the liveness probe judges only a workload that started.
        foreach (var pod0 in new[] { Probed("p1", "livenessProbe", HttpGet("/healthz", 8080), failureThreshold: 2), Probed("p2", "livenessProbe", HttpGet("/healthz", "http"), failureThreshold: 1, restartPolicy: "Never") })
        {
            Spec(pod0)["startupProbe"] = Probe(new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = "http" } }, failureThreshold: 120);
            await agent.SendAsync(HttpMethod.Post, "v1/leases/live/pods", pod0, HttpStatusCode.Created);
        }

        var pod = await RunningAsync(agent, "live", "p1");
        pod = await UntilAsync(agent, "live", "p1", Ready);
        Assert.Equal(0, (int)Container(pod)["restartCount"]!);
        var firstPid = AgentProcess.Pid(pod);
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AgentProcess.HostPort(pod)}/") })
        {
            await http.GetStringAsync("sick");
        }

        // Killed and started again: a new process, counted in restarts, with the cause in the log of the last state.
        pod = await UntilAsync(agent, "live", "p1", p => (int)Container(p)["restartCount"]! >= 1 && Container(p)["state"]!["running"] is not null);
        Assert.NotEqual(firstPid, AgentProcess.Pid(pod));
        Assert.Empty(AgentDirectory.GroupMembers(firstPid));
        Assert.Contains("failed liveness probe, will be restarted", Container(pod)["lastState"]!["terminated"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        pod = await RunningAsync(agent, "live", "p1");
        pod = await UntilAsync(agent, "live", "p1", Ready);
        Assert.Equal(1, (int)Container(pod)["restartCount"]!);

        // With restartPolicy Never, the container that fails its liveness probe stays stopped and the pod fails.
        var never = await RunningAsync(agent, "live", "p2");
        never = await UntilAsync(agent, "live", "p2", Ready);
        var neverPid = AgentProcess.Pid(never);
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AgentProcess.HostPort(never)}/") })
        {
            await http.GetStringAsync("sick");
        }

        never = await UntilAsync(agent, "live", "p2", p => p["status"]!["phase"]!.GetValue<string>() == "Failed");
        var terminated = Container(never)["state"]!["terminated"]!;
        Assert.Contains("failed liveness probe: HTTP probe failed with statuscode: 503", terminated["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotEqual(0, (int)terminated["exitCode"]!);
        Assert.Equal(0, (int)Container(never)["restartCount"]!);
        Assert.Empty(AgentDirectory.GroupMembers(neverPid));
        Assert.False(Ready(never));
    }

    [Fact]
    public async Task AStartupProbe_HoldsTheOtherProbes_UntilItPasses_AndRestartsAContainerThatNeverStarts()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data, null, null, "--runtime-restart-backoff", "100ms");
        await agent.CreateLeaseAsync("start");

        // Started once the file "started" exists in the container's folder (the probe takes it away); the
        // liveness probe would fail at once.
        var pod = Probed("p1", "startupProbe", new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", "test -f started && rm started") } }, failureThreshold: 600);
        Spec(pod)["livenessProbe"] = Probe(HttpGet("/healthz", "http"), failureThreshold: 1);
        await agent.SendAsync(HttpMethod.Post, "v1/leases/start/pods", pod, HttpStatusCode.Created);
        await agent.SendAsync(HttpMethod.Post, "v1/leases/start/pods", Probed("p2", "startupProbe", new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("false") } }, failureThreshold: 2), HttpStatusCode.Created);

        var running = await RunningAsync(agent, "start", "p1");
        var pid = AgentProcess.Pid(running);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AgentProcess.HostPort(running)}/") };
        await http.GetStringAsync("sick");
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            running = await agent.SendAsync(HttpMethod.Get, "v1/leases/start/pods/p1");
            Assert.False((bool)Container(running)["started"]!, running.ToJsonString());
            Assert.False(Ready(running));
            Assert.Equal(0, (int)Container(running)["restartCount"]!);
            Assert.True(Container(running)["state"]!["running"] is not null && pid == AgentProcess.Pid(running), running.ToJsonString() + agent.Output);
        }

        // Started: now the liveness probe runs, fails, and the container restarts.
        var started = Path.Combine(directory.Data, "pods", "start", "p1", "web", "started");
        await File.WriteAllTextAsync(started, "");
        running = await UntilAsync(agent, "start", "p1", p => (int)Container(p)["restartCount"]! >= 1 && Container(p)["state"]!["running"] is not null);
        Assert.NotEqual(pid, AgentProcess.Pid(running));

        // The new run starts over: held by its startup probe until the file is back, then live and Ready.
        running = await RunningAsync(agent, "start", "p1");
        Assert.False((bool)Container(running)["started"]!, running.ToJsonString());
        Assert.False(Ready(running));
        await File.WriteAllTextAsync(started, "");
        running = await UntilAsync(agent, "start", "p1", p => Ready(p) && (bool)Container(p)["started"]!);
        Assert.Equal(1, (int)Container(running)["restartCount"]!);

        // A container whose startup probe never passes is restarted after failureThreshold failures.
        var failing = await UntilAsync(agent, "start", "p2", p => (int)Container(p)["restartCount"]! >= 1);
        Assert.False(Ready(failing));
        Assert.Contains("failed startup probe, will be restarted", Container(failing)["lastState"]!["terminated"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbesTheAgentCannotRun_OrThatReachBeyondTheContainer_AreRefused()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("bad");
        foreach (var (probe, expected) in new (JsonObject, string)[]
        {
            (Probe(HttpGet("/healthz", 22)), "livenessProbe.httpGet.port \"22\" is not one of the container's ports"),
            (Probe(new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = "ssh" } }), "tcpSocket.port \"ssh\" is not one of the container's ports"),
            (Probe(new JsonObject { ["grpc"] = new JsonObject { ["port"] = 8080 } }), "grpc probes are not supported"),
            (Probe(new JsonObject { ["httpGet"] = new JsonObject { ["port"] = 8080, ["scheme"] = "FTP" } }), "httpGet.scheme \"FTP\" is not HTTP or HTTPS"),
            (Probe(new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray() } }), "exec.command must name a command"),
            (Probe(HttpGet("/", 8080), successThreshold: 2), "successThreshold is 2; it must be 1 for liveness probes"),
            (Probe(HttpGet("/", 8080), periodSeconds: 0), "periodSeconds is 0; it must be from 1 to 86400"),
            (Probe(new JsonObject { ["httpGet"] = new JsonObject { ["port"] = 8080 }, ["timeoutSeconds"] = 5_000_000 }), "timeoutSeconds is 5000000; it must be from 1 to 3600"),
            (Probe(new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("false") }, ["terminationGracePeriodSeconds"] = 1_000_000_000 }), "terminationGracePeriodSeconds is 1000000000; it must be from 1 to 600"),
            (Probe(new JsonObject { ["httpGet"] = new JsonObject { ["port"] = 8080, ["httpHeaders"] = new JsonArray(new JsonObject { ["name"] = "X\r\nEvil", ["value"] = "1" }) } }), "is not a valid HTTP header"),
        })
        {
            var pod = AgentProcess.WorkloadPod("p1");
            Spec(pod)["livenessProbe"] = probe;
            var refusal = await agent.SendAsync(HttpMethod.Post, "v1/leases/bad/pods", pod, HttpStatusCode.BadRequest);
            Assert.Contains(expected, refusal["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var slow = AgentProcess.WorkloadPod("p1");
        slow["spec"]!["terminationGracePeriodSeconds"] = 601;
        Assert.Contains("spec.terminationGracePeriodSeconds is 601; it must be from 0 to 600", (await agent.SendAsync(HttpMethod.Post, "v1/leases/bad/pods", slow, HttpStatusCode.BadRequest))["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await agent.SendAsync(HttpMethod.Get, "v1/leases/bad/pods"))["items"]!.AsArray());
    }

    [Fact]
    public async Task AfterAnAgentRestart_AReadyPodStaysReadyWithItsTransitionTime_AndTheFirstProbeDecidesAtOnce()
    {
        using var directory = new AgentDirectory();
        var port = AgentProcess.FreePort();
        var agent = await AgentProcess.StartAsync(directory.Data, port);
        JsonObject pod;
        DateTime readySince;
        try
        {
            await agent.CreateLeaseAsync("again");

            // So many failures in a row are needed that only the rule for a restart can turn it not Ready soon;
            // a long timeout, so that a slow answer on a busy machine is no failure.
            foreach (var name in new[] { "p1", "p2" })
            {
                var probed = Probed(name, "readinessProbe", HttpGet("/healthz", "http"), failureThreshold: 10_000);
                Spec(probed)["readinessProbe"]!["timeoutSeconds"] = 10;
                await agent.SendAsync(HttpMethod.Post, "v1/leases/again/pods", probed, HttpStatusCode.Created);
            }

            await RunningAsync(agent, "again", "p1");
            await RunningAsync(agent, "again", "p2");
            pod = await UntilAsync(agent, "again", "p1", Ready);
            await UntilAsync(agent, "again", "p2", Ready);
            readySince = Condition(pod, "Ready")["lastTransitionTime"]!.GetValue<DateTime>();

            // Saved before the agent goes: the supervision round writes what the probes changed.
            await Eventually.UntilAsync(() => new[] { "p1", "p2" }.All(name =>
                JsonNode.Parse(File.ReadAllText(Path.Combine(directory.Data, "state", "pods", $"again__{name}.json")))!["Containers"]![0]!["ReadinessProbePassed"]!.GetValue<bool>()), Wait);
            await agent.KillAsync();
        }
        finally
        {
            await agent.DisposeAsync();
        }

        // While the agent is down, p2's workload stops serving.
        using (var http = new HttpClient())
        {
            var p2 = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory.Data, "state", "pods", "again__p2.json")))!;
            var hostPort = p2["Containers"]![0]!["HostPorts"]!["8080"]!.GetValue<int>();
            await http.GetStringAsync($"http://127.0.0.1:{hostPort}/sick");
        }

        await using var restarted = await AgentProcess.StartAsync(directory.Data, port);
        pod = await restarted.SendAsync(HttpMethod.Get, "v1/leases/again/pods/p1");
        Assert.True(Ready(pod), pod.ToJsonString());
        Assert.Equal(readySince, Condition(pod, "Ready")["lastTransitionTime"]!.GetValue<DateTime>());
        await UntilAsync(restarted, "again", "p2", p => !Ready(p));
        await Task.Delay(TimeSpan.FromSeconds(2));
        pod = await restarted.SendAsync(HttpMethod.Get, "v1/leases/again/pods/p1");
        Assert.True(Ready(pod), pod.ToJsonString());
        Assert.Equal(readySince, Condition(pod, "Ready")["lastTransitionTime"]!.GetValue<DateTime>());
    }

    [Theory]
    [InlineData("169.254.169.254", "/latest/meta-data", "http://127.0.0.1:4321/latest/meta-data")]
    [InlineData(null, "@example.org/x", "http://127.0.0.1:4321/@example.org/x")]
    [InlineData(null, "//example.org/x?y=1", "http://127.0.0.1:4321//example.org/x?y=1")]
    [InlineData("example.org", "healthz", "http://127.0.0.1:4321/healthz")]
    [InlineData(null, null, "http://127.0.0.1:4321/")]
    public void AnHttpProbe_GoesToTheContainersPublishedPort_WhateverHostOrPathItNames(string? host, string? path, string expected)
    {
        var url = Pods.ContainerProber.Url(new k8s.Models.V1HTTPGetAction { Host = host, Path = path, Port = 8080 }, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4321));

        Assert.Equal(expected, url.ToString());
        Assert.Equal("127.0.0.1", url.Host);
        Assert.Equal(4321, url.Port);
    }

    /// <summary>The test workload's pod with one probe (period 1 s), and a second declared port nothing listens on.</summary>
    private static JsonObject Probed(string name, string kind, JsonObject handler, int failureThreshold = 3, string? restartPolicy = null)
    {
        var pod = AgentProcess.WorkloadPod(name, restartPolicy: restartPolicy);
        var container = Spec(pod);
        container["ports"]!.AsArray().Add(new JsonObject { ["containerPort"] = 9090, ["name"] = "admin" });
        container[kind] = Probe(handler, failureThreshold: failureThreshold);
        return pod;
    }

    private static JsonObject Probe(JsonObject handler, int failureThreshold = 3, int periodSeconds = 1, int? successThreshold = null)
    {
        var probe = handler.DeepClone().AsObject();
        probe["periodSeconds"] = periodSeconds;
        probe["failureThreshold"] = failureThreshold;
        if (successThreshold is { } threshold)
        {
            probe["successThreshold"] = threshold;
        }

        return probe;
    }

    private static JsonObject HttpGet(string path, JsonNode port) =>
        new() { ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port } };

    /// <summary>The first container's status in a pod the agent returned.</summary>
    private static JsonObject Container(JsonObject pod) => pod["status"]!["containerStatuses"]![0]!.AsObject();

    /// <summary>The first container's spec in a pod to send.</summary>
    private static JsonObject Spec(JsonObject pod) => pod["spec"]!["containers"]![0]!.AsObject();

    private static JsonObject Condition(JsonObject pod, string type) =>
        pod["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == type)!.AsObject();

    private static bool Ready(JsonObject pod) => Condition(pod, "Ready")["status"]!.GetValue<string>() == "True";

    private static async Task<JsonObject> RunningAsync(AgentProcess agent, string lease, string name)
    {
        try
        {
            return await agent.WaitRunningAsync(lease, name);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"pod {name} never ran and answered: {(await agent.SendAsync(HttpMethod.Get, $"v1/leases/{lease}/pods/{name}")).ToJsonString()}\n{agent.Output}");
        }
    }

    private static async Task<JsonObject> UntilAsync(AgentProcess agent, string lease, string name, Func<JsonObject, bool> condition)
    {
        JsonObject? pod = null;
        try
        {
            await Eventually.UntilAsync(async () => condition(pod = await agent.SendAsync(HttpMethod.Get, $"v1/leases/{lease}/pods/{name}")), Wait);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"pod {name} never got there: {pod?.ToJsonString()}\n{agent.Output}");
        }

        return pod!;
    }
}
