using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using DePin.ProviderAgent.Runtime;
using DePin.Testing;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace DePin.ProviderAgent.Tests;

/// <summary>
/// The docker runtime against a stand-in Docker Engine on a unix socket, which records the API calls and
/// plays a container's life. (No Docker Engine runs on the project's machines.)
/// </summary>
public sealed class DockerRuntimeTests : IAsyncLifetime
{
    private readonly AgentDirectory _directory = new();
    private readonly ConcurrentQueue<(string Method, string Path, string Body)> _calls = new();
    private readonly ConcurrentDictionary<string, int?> _containers = new();
    private readonly ConcurrentDictionary<string, PlayedPort> _ports = new();
    private readonly ConcurrentDictionary<string, string[]> _execs = new();
    private WebApplication? _engine;

    /// <summary>
    /// When set, a created container gets an address of its own (127.0.0.N) where its first port is played by a
    /// listener answering with <see cref="_health"/>; its published host port is played as Docker's userland
    /// proxy plays it, accepting every connection whether or not the container listens.
    /// </summary>
    private bool _playPorts;

    private readonly ConcurrentDictionary<string, PlayedPort> _proxies = new();

    private volatile int _health = 200;

    /// <summary>The exit code of every exec the stand-in runs.</summary>
    private volatile int _execExit = 1;

    private string Socket => Path.Combine(Path.GetDirectoryName(_directory.Data)!, "docker.sock");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory.Data);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Socket));
        _engine = builder.Build();
        _engine.Run(async context =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var path = context.Request.Path.Value! + context.Request.QueryString;
            _calls.Enqueue((context.Request.Method, path, body));
            var parts = context.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
            switch (context.Request.Method, parts)
            {
                case ("POST", [_, "images", "create"]):
                    await context.Response.WriteAsync("{\"status\":\"Pulling\"}\n{\"status\":\"Done\"}\n");
                    break;
                case ("POST", [_, "containers", "create"]):
                    var created = "c" + (_calls.Count(c => c.Path.Contains("/containers/create", StringComparison.Ordinal)) - 1);
                    _containers[created] = null;
                    if (_playPorts && JsonNode.Parse(body)!["HostConfig"]!["PortBindings"]!.AsObject().FirstOrDefault() is { Value: { } binding } published)
                    {
                        var containerPort = int.Parse(published.Key.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);
                        _ports[created] = new PlayedPort(Address(created), containerPort, () => _health);
                        _proxies[created] = new PlayedPort(System.Net.IPAddress.Loopback, int.Parse(binding[0]!["HostPort"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), null);
                    }

                    context.Response.StatusCode = 201;
                    await context.Response.WriteAsync($"{{\"Id\":\"{created}\"}}");
                    break;
                case ("POST", [_, "containers", _, "start"]):
                    context.Response.StatusCode = 204;
                    break;
                case ("GET", [_, "containers", var inspected, "json"]) when _containers.TryGetValue(inspected, out var exit):
                    await context.Response.WriteAsync(exit is { } code
                        ? $"{{\"State\":{{\"Running\":false,\"ExitCode\":{code}}}}}"
                        : $"{{\"State\":{{\"Running\":true}},\"NetworkSettings\":{{\"IPAddress\":\"\",\"Networks\":{{\"bridge\":{{\"IPAddress\":\"{Address(inspected)}\"}}}}}}}}");
                    break;
                case ("GET", [_, "containers", _, "logs"]):
                    var frame = Encoding.UTF8.GetBytes("hello from docker\n");
                    await context.Response.Body.WriteAsync(new byte[] { 1, 0, 0, 0, 0, 0, 0, (byte)frame.Length });
                    await context.Response.Body.WriteAsync(frame);
                    break;
                case ("POST", [_, "containers", var stopped, "stop"]):
                    _containers[stopped] = 143;
                    Remove(stopped);
                    context.Response.StatusCode = 204;
                    break;
                case ("DELETE", [_, "containers", var removed]) when _containers.TryRemove(removed, out _):
                    Remove(removed);
                    context.Response.StatusCode = 204;
                    break;
                case ("POST", [_, "containers", var target, "exec"]) when _containers.ContainsKey(target):
                    var exec = "e" + _execs.Count;
                    _execs[exec] = [.. JsonNode.Parse(body)!["Cmd"]!.AsArray().Select(n => n!.GetValue<string>())];
                    context.Response.StatusCode = 201;
                    await context.Response.WriteAsync($"{{\"Id\":\"{exec}\"}}");
                    break;
                case ("POST", [_, "exec", var started, "start"]) when _execs.ContainsKey(started) && JsonNode.Parse(body)!["Detach"]!.GetValue<bool>():
                    context.Response.StatusCode = 200;
                    break;
                case ("GET", [_, "exec", var inspected, "json"]) when _execs.ContainsKey(inspected):
                    await context.Response.WriteAsync($"{{\"ID\":\"{inspected}\",\"Running\":false,\"ExitCode\":{_execExit}}}");
                    break;
                default:
                    context.Response.StatusCode = 404;
                    await context.Response.WriteAsync("{\"message\":\"no such container\"}");
                    break;
            }
        });
        await _engine.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var id in _ports.Keys.Concat(_proxies.Keys).Distinct().ToList())
        {
            Remove(id);
        }

        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task AContainer_IsPulledCreatedStartedProbedAndStopped()
    {
        using var runtime = new DockerRuntime(Socket);
        var container = new V1Container
        {
            Name = "web",
            Image = "nginx:1.27",
            Command = ["/bin/server"],
            Args = ["--port", "$(PORT)"],
            Ports = [new V1ContainerPort { ContainerPort = 80 }],
        };
        var log = Path.Combine(_directory.Data, "web.log");
        var launch = new ContainerLaunch("7-p1-web", container, new Dictionary<string, string> { ["PORT"] = "41000", ["GREETING"] = "hi" }, new Dictionary<int, int> { [80] = 41000 }, _directory.Data, log, 500, 256);

        var handle = await runtime.StartAsync(launch, CancellationToken.None);

        Assert.Equal("c0", handle.ContainerId);
        var calls = _calls.ToList();
        Assert.Contains(calls, c => c.Method == "POST" && c.Path == "/v1.41/images/create?fromImage=nginx&tag=1.27");
        var create = JsonNode.Parse(calls.Single(c => c.Path.StartsWith("/v1.41/containers/create", StringComparison.Ordinal)).Body)!;
        Assert.Equal("nginx:1.27", create["Image"]!.GetValue<string>());
        Assert.Equal(["/bin/server"], create["Entrypoint"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["--port", "41000"], create["Cmd"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("GREETING=hi", create["Env"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("41000", create["HostConfig"]!["PortBindings"]!["80/tcp"]![0]!["HostPort"]!.GetValue<string>());
        Assert.Equal(500_000_000, create["HostConfig"]!["NanoCpus"]!.GetValue<long>());
        Assert.Equal(256L * 1024 * 1024, create["HostConfig"]!["Memory"]!.GetValue<long>());
        Assert.Contains(calls, c => c.Method == "POST" && c.Path == "/v1.41/containers/c0/start");

        Assert.True((await runtime.ProbeAsync(handle, _directory.Data, log, CancellationToken.None)).Running);
        await Testing.Eventually.UntilAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("hello from docker", StringComparison.Ordinal));

        await runtime.StopAsync(handle, TimeSpan.FromSeconds(3), CancellationToken.None);
        Assert.Contains(_calls, c => c.Method == "POST" && c.Path == "/v1.41/containers/c0/stop?t=3");
        Assert.Contains(_calls, c => c.Method == "DELETE" && c.Path == "/v1.41/containers/c0?force=true");
        Assert.Empty(_containers);
    }

    [Fact]
    public async Task AnExitedContainer_ReportsItsCode_AndIsRemoved()
    {
        using var runtime = new DockerRuntime(Socket);
        var launch = new ContainerLaunch("7-p2-job", new V1Container { Name = "job", Image = "busybox" }, new Dictionary<string, string>(), new Dictionary<int, int>(), _directory.Data, Path.Combine(_directory.Data, "job.log"), 0, 0);
        var handle = await runtime.StartAsync(launch, CancellationToken.None);
        _containers[handle.ContainerId!] = 3;

        var probe = await runtime.ProbeAsync(handle, _directory.Data, launch.LogPath, CancellationToken.None);

        Assert.False(probe.Running);
        Assert.Equal(3, probe.ExitCode);
        Assert.Empty(_containers);
    }

    [Fact]
    public async Task AnAgentOnTheDockerRuntime_RunsStartupReadinessAndLivenessProbes()
    {
        _playPorts = true;
        await using var agent = await AgentProcess.StartAsync(_directory.Data, null, null, "--runtime-kind", "docker", "--runtime-docker-socket", Socket, "--runtime-restart-backoff", "100ms");
        try
        {
            await ProbesAsync(agent);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"the docker calls: {string.Join("\n", _calls.Select(c => c.Method + " " + c.Path))}\nthe agent's log:\n{agent.Output}");
        }
    }

    private async Task ProbesAsync(AgentProcess agent)
    {
        await agent.CreateLeaseAsync("dock");
        var pod = AgentProcess.WorkloadPod("p1");
        var spec = pod["spec"]!["containers"]![0]!.AsObject();

        // A container port free on the loopback addresses the stand-in gives its containers.
        var containerPort = AgentProcess.FreePort();
        spec["ports"] = new JsonArray(new JsonObject { ["containerPort"] = containerPort, ["name"] = "http" });
        spec["startupProbe"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("check", "$(GREETING)") }, ["periodSeconds"] = 1, ["failureThreshold"] = 600 };
        spec["readinessProbe"] = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/healthz", ["port"] = "http" }, ["periodSeconds"] = 1, ["failureThreshold"] = 1 };
        spec["livenessProbe"] = new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = containerPort }, ["periodSeconds"] = 1, ["failureThreshold"] = 2 };
        await agent.SendAsync(HttpMethod.Post, "v1/leases/dock/pods", pod, System.Net.HttpStatusCode.Created);

        // The startup probe's command runs through docker exec, expanded, and fails: not started, not Ready.
        await Eventually.UntilAsync(() => _execs.Values.Count(c => c.SequenceEqual(["check", "hello"])) >= 2, TimeSpan.FromSeconds(30));
        var status = await agent.SendAsync(HttpMethod.Get, "v1/leases/dock/pods/p1");
        Assert.False(status["status"]!["containerStatuses"]![0]!["started"]!.GetValue<bool>(), status.ToJsonString());
        Assert.Equal("False", Ready(status));

        // It passes: the readiness probe decides Ready.
        _execExit = 0;
        await UntilReadyAsync(agent, "True");
        _health = 503;
        await UntilReadyAsync(agent, "False");
        _health = 200;
        await UntilReadyAsync(agent, "True");

        // The container stops listening (its host port, Docker's proxy, still accepts): the liveness probe
        // fails, docker stops the container and the agent starts a new one.
        using (var proxy = new System.Net.Sockets.TcpClient())
        {
            var published = (await agent.SendAsync(HttpMethod.Get, "v1/leases/dock/pods/p1"))["spec"]!["containers"]![0]!["ports"]![0]!["hostPort"]!.GetValue<int>();
            await proxy.ConnectAsync(System.Net.IPAddress.Loopback, published);
        }

        Unplay("c0");

        await Eventually.UntilAsync(async () => (await agent.SendAsync(HttpMethod.Get, "v1/leases/dock/pods/p1"))["status"]!["containerStatuses"]![0]!["restartCount"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
        Assert.Contains(_calls, c => c.Method == "POST" && c.Path.StartsWith("/v1.41/containers/c0/stop", StringComparison.Ordinal));
        await Eventually.UntilAsync(() => _ports.ContainsKey("c1"), TimeSpan.FromSeconds(30));
        await UntilReadyAsync(agent, "True");
        Assert.Equal("docker://c1", (await agent.SendAsync(HttpMethod.Get, "v1/leases/dock/pods/p1"))["status"]!["containerStatuses"]![0]!["containerID"]!.GetValue<string>());
    }

    [Fact]
    public void ContainersWithoutAnImage_AreRefused()
    {
        using var runtime = new DockerRuntime(Socket);

        Assert.Contains("needs an image", runtime.Validate(new V1Container { Name = "x" }), StringComparison.Ordinal);
    }

    private static string Ready(JsonObject pod) =>
        pod["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Ready")!["status"]!.GetValue<string>();

    private static Task UntilReadyAsync(AgentProcess agent, string ready) =>
        Eventually.UntilAsync(async () => Ready(await agent.SendAsync(HttpMethod.Get, "v1/leases/dock/pods/p1")) == ready, TimeSpan.FromSeconds(30));

    // The container's own address: 127.0.0.2 for c0, 127.0.0.3 for c1, and so on.
    private static System.Net.IPAddress Address(string id) =>
        System.Net.IPAddress.Parse("127.0.0." + (int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) + 2).ToString(System.Globalization.CultureInfo.InvariantCulture));

    // The container's own port stops; its host port, Docker's proxy, still accepts until the container goes.
    private void Unplay(string id)
    {
        if (_ports.TryRemove(id, out var port))
        {
            port.Dispose();
        }
    }

    private void Remove(string id)
    {
        Unplay(id);
        if (_proxies.TryRemove(id, out var proxy))
        {
            proxy.Dispose();
        }
    }

    /// <summary>A port as the stand-in plays it: an HTTP answer with the given status, or (without one) a connection accepted and closed.</summary>
    private sealed class PlayedPort : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();

        public PlayedPort(System.Net.IPAddress address, int port, Func<int>? status)
        {
            _listener = new System.Net.Sockets.TcpListener(address, port);
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                        if (status is null)
                        {
                            continue;
                        }

                        await using var stream = client.GetStream();
                        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                        while (!string.IsNullOrEmpty(await reader.ReadLineAsync(_stop.Token)))
                        {
                        }

                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status()} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
                    {
                    }
                }
            });
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
