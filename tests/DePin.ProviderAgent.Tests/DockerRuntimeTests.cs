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
    private WebApplication? _engine;

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
                    var created = "c" + _containers.Count;
                    _containers[created] = null;
                    context.Response.StatusCode = 201;
                    await context.Response.WriteAsync($"{{\"Id\":\"{created}\"}}");
                    break;
                case ("POST", [_, "containers", _, "start"]):
                    context.Response.StatusCode = 204;
                    break;
                case ("GET", [_, "containers", var inspected, "json"]) when _containers.TryGetValue(inspected, out var exit):
                    await context.Response.WriteAsync(exit is { } code ? $"{{\"State\":{{\"Running\":false,\"ExitCode\":{code}}}}}" : "{\"State\":{\"Running\":true}}");
                    break;
                case ("GET", [_, "containers", _, "logs"]):
                    var frame = Encoding.UTF8.GetBytes("hello from docker\n");
                    await context.Response.Body.WriteAsync(new byte[] { 1, 0, 0, 0, 0, 0, 0, (byte)frame.Length });
                    await context.Response.Body.WriteAsync(frame);
                    break;
                case ("POST", [_, "containers", var stopped, "stop"]):
                    _containers[stopped] = 143;
                    context.Response.StatusCode = 204;
                    break;
                case ("DELETE", [_, "containers", var removed]) when _containers.TryRemove(removed, out _):
                    context.Response.StatusCode = 204;
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
    public void ContainersWithoutAnImage_AreRefused()
    {
        using var runtime = new DockerRuntime(Socket);

        Assert.Contains("needs an image", runtime.Validate(new V1Container { Name = "x" }), StringComparison.Ordinal);
    }
}
