using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace DePin.Testing;

/// <summary>The provider-agent executable as a real process on a loopback port, in static mode unless told otherwise.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    /// <summary>The bearer token of agents in static mode.</summary>
    public const string Token = "test-token-0123456789abcdef";

    private readonly Process _process;
    private readonly ProcessOutput _output;

    private AgentProcess(Process process, ProcessOutput output, string dataDir, int port, string keyHex, string? tlsThumbprint)
    {
        _process = process;
        _output = output;
        DataDir = dataDir;
        Port = port;
        KeyHex = keyHex;
        var handler = new HttpClientHandler();
        if (tlsThumbprint is not null)
        {
            handler.ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == tlsThumbprint;
        }

        Http = new HttpClient(handler) { BaseAddress = new Uri($"{(tlsThumbprint is null ? "http" : "https")}://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/") };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    /// <summary>The build configuration the tests run in.</summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built agent.</summary>
    public static string AgentDll { get; } = RepositoryPaths.Of("provider-agent", "bin", Configuration, "net10.0", "provider-agent.dll");

    /// <summary>The built test workload.</summary>
    public static string WorkloadDll { get; } = RepositoryPaths.Of("tests", "DePin.TestWorkload", "bin", Configuration, "net10.0", "DePin.TestWorkload.dll");

    /// <summary>The test workload's executable, which serves on the PORT variable when given no arguments: a program that can stand for an image (<c>--runtime-images</c>).</summary>
    public static string WorkloadProgram { get; } = RepositoryPaths.Of("tests", "DePin.TestWorkload", "bin", Configuration, "net10.0", "DePin.TestWorkload");

    /// <summary>The agent's data folder.</summary>
    public string DataDir { get; }

    /// <summary>The agent's port.</summary>
    public int Port { get; }

    /// <summary>The provider key, as hex.</summary>
    public string KeyHex { get; }

    /// <summary>A client for the agent's API, with the bearer token.</summary>
    public HttpClient Http { get; }

    /// <summary>The agent's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>What the agent printed so far.</summary>
    public string Output => _output.Text;

    /// <summary>Starts the agent and waits until it answers.</summary>
    public static Task<AgentProcess> StartAsync(string dataDir, int? port = null, string? keyHex = null, params string[] extra) =>
        StartAsync(dataDir, port, keyHex, null, extra);

    /// <summary>Starts the agent with TLS; the client speaks HTTPS and trusts only the certificate with this thumbprint.</summary>
    public static Task<AgentProcess> StartHttpsAsync(string dataDir, string tlsThumbprint, params string[] extra) =>
        StartAsync(dataDir, null, null, tlsThumbprint, extra);

    private static async Task<AgentProcess> StartAsync(string dataDir, int? port, string? keyHex, string? tlsThumbprint, string[] extra)
    {
        Directory.CreateDirectory(dataDir);
        keyHex ??= Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var keyFile = Path.Combine(dataDir, "..", Path.GetFileName(dataDir) + ".key");
        await File.WriteAllTextAsync(keyFile, keyHex);
        var tokenFile = Path.Combine(dataDir, "..", Path.GetFileName(dataDir) + ".token");
        await File.WriteAllTextAsync(tokenFile, Token);
        var chosen = port ?? FreePort();
        var start = new ProcessStartInfo("dotnet");
        string[] arguments =
        [
            AgentDll, "--listen", $"127.0.0.1:{chosen.ToString(CultureInfo.InvariantCulture)}", "--data-dir", dataDir, "--key-file", keyFile,
            "--runtime-restart-backoff", "100ms", "--runtime-status-interval", "50ms", "--runtime-termination-grace", "2s",
            .. extra.Contains("--mode") ? [] : new[] { "--mode", "static", "--static-token-file", tokenFile },
            .. extra,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var (process, output) = ProcessOutput.Start(start);
        var agent = new AgentProcess(process, output, dataDir, chosen, keyHex, tlsThumbprint);
        try
        {
            await Eventually.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the agent exited with {process.ExitCode}: {agent.Output}");
                }

                try
                {
                    using var response = await agent.Http.GetAsync("healthz");
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30));
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }

        return agent;
    }

    /// <summary>A free loopback port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A pod running the test workload on its container port 8080, its host port in $(PORT).</summary>
    public static JsonObject WorkloadPod(string name, int lines = 0, string? restartPolicy = null, string cpu = "100m", string memory = "64Mi", string? env = null)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "test" } },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = "web",
                    ["image"] = "depin/test-workload",
                    ["command"] = new JsonArray("dotnet", WorkloadDll, "$(PORT)", lines.ToString(CultureInfo.InvariantCulture)),
                    ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["name"] = "http" }),
                    ["env"] = new JsonArray(new JsonObject { ["name"] = "GREETING", ["value"] = env ?? "hello" }),
                    ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = cpu, ["memory"] = memory } },
                }),
            },
        };
        if (restartPolicy is not null)
        {
            pod["spec"]!["restartPolicy"] = restartPolicy;
        }

        return pod;
    }

    /// <summary>Sends a request and returns the JSON answer, failing unless the status is the expected one (or a success).</summary>
    public async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonNode? body = null, System.Net.HttpStatusCode? expect = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (expect is { } status ? response.StatusCode != status : !response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        }

        return text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Opens a lease (static mode).</summary>
    public Task CreateLeaseAsync(string id, int replicas = 2, int cpuMillis = 1000, int memoryMiB = 512) =>
        SendAsync(HttpMethod.Post, "v1/leases", new JsonObject
        {
            ["id"] = id,
            ["replicas"] = replicas,
            ["resources"] = new JsonObject { ["cpuMillis"] = cpuMillis, ["memoryMiB"] = memoryMiB },
        }, System.Net.HttpStatusCode.Created);

    /// <summary>Waits until a pod is Running and its port answers.</summary>
    public async Task<JsonObject> WaitRunningAsync(string lease, string pod)
    {
        JsonObject? last = null;
        await Eventually.UntilAsync(async () =>
        {
            last = await SendAsync(HttpMethod.Get, $"v1/leases/{lease}/pods/{pod}");
            if (last["status"]?["phase"]?.GetValue<string>() != "Running" || last["status"]!["containerStatuses"]![0]!["state"]!["running"] is null)
            {
                return false;
            }

            // Running as a process is not yet serving: wait for the port to answer.
            try
            {
                using var probe = new HttpClient();
                return (await probe.GetStringAsync($"http://127.0.0.1:{HostPort(last)}/")) == "ok";
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        return last!;
    }

    /// <summary>The host port of a pod's first container port.</summary>
    public static int HostPort(JsonObject pod) => pod["spec"]!["containers"]![0]!["ports"]![0]!["hostPort"]!.GetValue<int>();

    /// <summary>The supervisor process of a pod's first container.</summary>
    public static int Pid(JsonObject pod) => int.Parse(pod["status"]!["containerStatuses"]![0]!["containerID"]!.GetValue<string>().Split("://")[1], CultureInfo.InvariantCulture);

    /// <summary>Kills the agent with SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Stops the agent with SIGTERM; its pods keep running.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }

        _process.Dispose();
        Http.Dispose();
    }
}
