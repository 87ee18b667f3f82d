using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s.Models;

namespace DePin.ProviderAgent.Runtime;

/// <summary>
/// Runs containers through the Docker Engine API on its unix socket: pulls the image, creates the
/// container with its command, args, environment, working directory, port bindings and CPU and memory
/// limits, starts it, and copies its output into the container's log file so that logs, tail, follow and
/// rotation work as for the process runtime. Containers carry the label <c>depin.dev/container</c>; an
/// exited container is removed once its exit code is read.
/// </summary>
internal sealed class DockerRuntime : IPodRuntime, IDisposable
{
    private const string Api = "http://docker/v1.41/";
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, Task> _logPumps = new(StringComparer.Ordinal);
    private static readonly TimeSpan ExecPoll = TimeSpan.FromMilliseconds(50);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, string> _hungExecs = new(StringComparer.Ordinal);

    public DockerRuntime(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri(Api), Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Name => "docker";

    public string? Validate(V1Container container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return string.IsNullOrEmpty(container.Image) ? $"container {container.Name}: the docker runtime needs an image" : null;
    }

    public async Task<ContainerHandle> StartAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        Directory.CreateDirectory(Path.GetDirectoryName(launch.LogPath)!);
        await PullAsync(launch.Container.Image, cancellationToken).ConfigureAwait(false);

        var exposed = new JsonObject();
        var bindings = new JsonObject();
        foreach (var (containerPort, hostPort) in launch.HostPorts)
        {
            var key = containerPort.ToString(CultureInfo.InvariantCulture) + "/tcp";
            exposed[key] = new JsonObject();
            bindings[key] = new JsonArray(new JsonObject { ["HostIp"] = "0.0.0.0", ["HostPort"] = hostPort.ToString(CultureInfo.InvariantCulture) });
        }

        var body = new JsonObject
        {
            ["Image"] = launch.Container.Image,
            ["Env"] = new JsonArray([.. launch.Environment.Select(e => (JsonNode)JsonValue.Create($"{e.Key}={e.Value}"))]),
            ["ExposedPorts"] = exposed,
            ["Labels"] = new JsonObject { ["depin.dev/container"] = launch.Key },
            ["HostConfig"] = new JsonObject
            {
                ["PortBindings"] = bindings,
                ["NanoCpus"] = launch.CpuMillis * 1_000_000,
                ["Memory"] = launch.MemoryMiB * 1024 * 1024,
                ["RestartPolicy"] = JsonNode.Parse("""{"Name":"no"}"""),
            },
        };
        if (launch.Container.Command is { Count: > 0 } command)
        {
            body["Entrypoint"] = new JsonArray([.. ProcessRuntime.Expand(command, launch.Environment).Select(c => (JsonNode)JsonValue.Create(c))]);
        }

        if (launch.Container.Args is { Count: > 0 } args)
        {
            body["Cmd"] = new JsonArray([.. ProcessRuntime.Expand(args, launch.Environment).Select(c => (JsonNode)JsonValue.Create(c))]);
        }

        if (launch.Container.WorkingDir is { Length: > 0 } workingDir)
        {
            body["WorkingDir"] = workingDir;
        }

        var name = "depin-" + launch.Key;
        await SendAsync(HttpMethod.Delete, $"containers/{name}?force=true", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        var created = await SendAsync(HttpMethod.Post, $"containers/create?name={Uri.EscapeDataString(name)}", body, cancellationToken).ConfigureAwait(false);
        var id = created?["Id"]?.GetValue<string>() ?? throw new InvalidOperationException("docker created a container without an id");
        await SendAsync(HttpMethod.Post, $"containers/{id}/start", null, cancellationToken).ConfigureAwait(false);
        PumpLogs(id, launch.LogPath, since: 0);
        return new ContainerHandle(0, 0, id);
    }

    public async Task<ContainerProbe> ProbeAsync(ContainerHandle handle, string workDir, string logPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var id = handle.ContainerId ?? throw new ArgumentException("a docker container handle has an id", nameof(handle));
        var inspect = await SendAsync(HttpMethod.Get, $"containers/{id}/json", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (inspect is null)
        {
            return new ContainerProbe(false, null);
        }

        var state = inspect["State"]!;
        if (state["Running"]?.GetValue<bool>() == true)
        {
            PumpLogs(id, logPath, since: File.Exists(logPath) ? new DateTimeOffset(File.GetLastWriteTimeUtc(logPath)).ToUnixTimeSeconds() : 0);
            return new ContainerProbe(true, null);
        }

        var exitCode = state["ExitCode"]?.GetValue<int>();
        Forget(id);
        await SendAsync(HttpMethod.Delete, $"containers/{id}?force=true", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        return new ContainerProbe(false, exitCode);
    }

    /// <summary>
    /// The container's own address on its network and the container port, as the kubelet probes a pod's
    /// IP. Not the published host port on the loopback address: Docker's userland proxy accepts
    /// connections there whether or not anything in the container listens. The agent must reach the
    /// containers' network (run it on the host, or with host networking).
    /// </summary>
    public async Task<IPEndPoint?> ProbeEndpointAsync(ContainerHandle handle, int containerPort, int hostPort, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var id = handle.ContainerId ?? throw new ArgumentException("a docker container handle has an id", nameof(handle));

        // Asked each time (a local call): an address kept from before could belong to another container by now.
        var inspect = await SendAsync(HttpMethod.Get, $"containers/{id}/json", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (inspect?["State"]?["Running"]?.GetValue<bool>() != true)
        {
            return null;
        }

        var settings = inspect["NetworkSettings"];
        var networks = settings?["Networks"]?.AsObject().Select(n => n.Value).ToList() ?? [];
        var candidates = new[] { settings?["IPAddress"], settings?["GlobalIPv6Address"] }
            .Concat(networks.Select(n => n?["IPAddress"]))
            .Concat(networks.Select(n => n?["GlobalIPv6Address"]))
            .Select(n => n?.GetValue<string>());
        return candidates.FirstOrDefault(a => !string.IsNullOrEmpty(a)) is { } text && IPAddress.TryParse(text, out var address)
            ? new IPEndPoint(address, containerPort)
            : null;
    }

    /// <summary>
    /// Runs the command with Docker's exec API (create, start detached, inspect until it ends). Docker
    /// cannot kill an exec that outlives its timeout; so that such commands do not pile up, the same
    /// command is not started again in the container while an earlier one still runs.
    /// </summary>
    public async Task<ExecResult> ExecAsync(ContainerHandle handle, ContainerLaunch launch, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(command);
        var id = handle.ContainerId ?? throw new ArgumentException("a docker container handle has an id", nameof(handle));
        command = [.. ProcessRuntime.Expand(command, launch.Environment)];
        if (command.Count == 0)
        {
            return new ExecResult(null, "the command is empty", TimedOut: false);
        }

        var key = id + "\n" + string.Join('\0', command);
        if (_hungExecs.TryGetValue(key, out var hung))
        {
            if (await ExecRunningAsync(hung, cancellationToken).ConfigureAwait(false) is true)
            {
                return new ExecResult(null, $"the previous run of the command (exec {hung}) has not ended", TimedOut: true);
            }

            _hungExecs.TryRemove(key, out _);
        }

        var created = await SendAsync(HttpMethod.Post, $"containers/{id}/exec", new JsonObject
        {
            ["Cmd"] = new JsonArray([.. command.Select(c => (JsonNode)JsonValue.Create(c))]),
            ["AttachStdin"] = false,
            ["AttachStdout"] = false,
            ["AttachStderr"] = false,
            ["Tty"] = false,
        }, cancellationToken).ConfigureAwait(false);
        var exec = created?["Id"]?.GetValue<string>() ?? throw new InvalidOperationException("docker created an exec without an id");
        await SendAsync(HttpMethod.Post, $"exec/{exec}/start", new JsonObject { ["Detach"] = true, ["Tty"] = false }, cancellationToken).ConfigureAwait(false);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        var poll = ExecPoll;
        while (true)
        {
            var inspect = await SendAsync(HttpMethod.Get, $"exec/{exec}/json", null, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"docker lost exec {exec}");
            if (inspect["Running"]?.GetValue<bool>() != true)
            {
                return new ExecResult(inspect["ExitCode"]?.GetValue<int?>(), "", TimedOut: false);
            }

            if (deadline.Elapsed >= timeout)
            {
                _hungExecs[key] = exec;
                return new ExecResult(null, "", TimedOut: true);
            }

            // Quick commands are seen at once; slow ones are asked less and less often, up to once a second,
            // and once more at the timeout.
            await Task.Delay(poll < timeout - deadline.Elapsed ? poll : timeout - deadline.Elapsed, cancellationToken).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, TimeSpan.TicksPerSecond));
        }
    }

    public async Task StopAsync(ContainerHandle handle, TimeSpan grace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.ContainerId is not { } id)
        {
            return;
        }

        Forget(id);

        var seconds = ((int)Math.Ceiling(grace.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await SendAsync(HttpMethod.Post, $"containers/{id}/stop?t={seconds}", null, cancellationToken, HttpStatusCode.NotModified, HttpStatusCode.NotFound).ConfigureAwait(false);
        await SendAsync(HttpMethod.Delete, $"containers/{id}?force=true", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _http.Dispose();
    }

    // What the runtime remembers of a container that is going away.
    private void Forget(string id)
    {
        foreach (var key in _hungExecs.Keys.Where(k => k.StartsWith(id + "\n", StringComparison.Ordinal)))
        {
            _hungExecs.TryRemove(key, out _);
        }
    }

    private async Task<bool?> ExecRunningAsync(string exec, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Get, $"exec/{exec}/json", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false))?["Running"]?.GetValue<bool>();

    private async Task PullAsync(string image, CancellationToken cancellationToken)
    {
        var (name, tag) = image.LastIndexOf(':') is var colon and > 0 && !image[colon..].Contains('/', StringComparison.Ordinal) ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
        using var response = await _http.PostAsync($"images/create?fromImage={Uri.EscapeDataString(name)}&tag={Uri.EscapeDataString(tag)}", null, cancellationToken).ConfigureAwait(false);
        var progress = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"docker could not pull {image}: {(int)response.StatusCode} {Message(progress)}");
        }

        // The pull reports a failure inside its progress stream.
        foreach (var line in progress.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (JsonNode.Parse(line)?["error"]?.GetValue<string>() is { } error)
            {
                throw new InvalidOperationException($"docker could not pull {image}: {error}");
            }
        }
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken, params HttpStatusCode[] tolerated)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (tolerated.Contains(response.StatusCode))
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"docker {method} {path}: {(int)response.StatusCode} {Message(text)}");
        }

        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static string Message(string text)
    {
        try
        {
            return JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text;
        }
        catch (System.Text.Json.JsonException)
        {
            return text;
        }
    }

    /// <summary>Copies the container's output into its log file, demultiplexing Docker's stdout and stderr frames.</summary>
    private void PumpLogs(string id, string logPath, long since)
    {
        if (_logPumps.TryGetValue(id, out var running) && !running.IsCompleted)
        {
            return;
        }

        _logPumps[id] = Task.Run(async () =>
        {
            try
            {
                var token = _stopping.Token;
                using var response = await _http.GetAsync($"containers/{id}/logs?follow=1&stdout=1&stderr=1&since={since.ToString(CultureInfo.InvariantCulture)}", HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                await using var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                await using var log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                var header = new byte[8];
                while (await ReadExactlyAsync(stream, header, token).ConfigureAwait(false))
                {
                    var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
                    var frame = new byte[length];
                    if (!await ReadExactlyAsync(stream, frame, token).ConfigureAwait(false))
                    {
                        break;
                    }

                    await log.WriteAsync(frame, token).ConfigureAwait(false);
                    await log.FlushAsync(token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // The container went away or the agent is stopping; a later probe starts a new pump.
            }
        });
    }

    private static async Task<bool> ReadExactlyAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
