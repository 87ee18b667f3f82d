using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.Ethereum;
using DePin.Marketplace;
using DePin.Testing;

// provider-agent as a process (static mode, process runtime): create N pods one after another and
// measure each from the request to the pod reported Running, then measure signed-heartbeat round trips
// while they all run. Usage: AgentBench [--pods N] [--heartbeats N]
var podCount = Arg("--pods", 100);
var heartbeats = Arg("--heartbeats", 2_000);
var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
var agentDll = RepositoryPaths.Of("provider-agent", "bin", configuration, "net10.0", "provider-agent.dll");
var root = Directory.CreateTempSubdirectory("agent-bench-");
const string Token = "bench-token-0123456789abcdef";
var keyHex = Convert.ToHexStringLower(RandomKey());
await File.WriteAllTextAsync(Path.Combine(root.FullName, "key"), keyHex);
var key = PrivateKey.FromHex(keyHex);
await File.WriteAllTextAsync(Path.Combine(root.FullName, "token"), Token);
var port = FreePort();
var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
foreach (var argument in (string[])[agentDll, "--mode", "static", "--listen", $"127.0.0.1:{port}", "--data-dir", Path.Combine(root.FullName, "data"), "--key-file", Path.Combine(root.FullName, "key"), "--static-token-file", Path.Combine(root.FullName, "token"), "--capacity-cpu", "1000", "--capacity-memory", "1000000", "--runtime-termination-grace", "1s"])
{
    start.ArgumentList.Add(argument);
}

using var agent = Process.Start(start)!;
agent.OutputDataReceived += (_, _) => { };
agent.ErrorDataReceived += (_, _) => { };
agent.BeginOutputReadLine();
agent.BeginErrorReadLine();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
var exit = 0;
try
{
    await Eventually.UntilAsync(async () =>
    {
        try
        {
            return (await http.GetAsync("healthz")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }, TimeSpan.FromSeconds(30));
    await Post("v1/leases", new JsonObject { ["id"] = "bench", ["replicas"] = podCount, ["resources"] = new JsonObject { ["cpuMillis"] = 10, ["memoryMiB"] = 16 } });

    var startup = new List<double>();
    for (var i = 0; i < podCount; i++)
    {
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = $"p{i}" },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "none", ["command"] = new JsonArray("sleep", "3600"), ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "10m", ["memory"] = "16Mi" } } }) },
        };
        var clock = Stopwatch.StartNew();
        var created = await Post("v1/leases/bench/pods", pod);
        while (created["status"]?["phase"]?.GetValue<string>() != "Running")
        {
            created = JsonNode.Parse(await http.GetStringAsync($"v1/leases/bench/pods/p{i}"))!;
        }

        startup.Add(clock.Elapsed.TotalMilliseconds);
    }

    var rtt = new List<double>();
    var valid = 0;
    for (var i = 0; i < heartbeats; i++)
    {
        var nonce = "n" + i.ToString(CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        var text = await http.GetStringAsync($"healthz?nonce={nonce}");
        rtt.Add(clock.Elapsed.TotalMilliseconds);
        if (JsonSerializer.Deserialize<Heartbeat>(text, JsonSerializerOptions.Web)!.Verify(key.Address, nonce))
        {
            valid++;
        }
    }

    var clockDelete = Stopwatch.StartNew();
    using (var response = await http.DeleteAsync("v1/leases/bench"))
    {
        response.EnsureSuccessStatusCode();
    }

    var deleteSeconds = clockDelete.Elapsed.TotalSeconds;
    startup.Sort();
    rtt.Sort();
    double P(List<double> values, double q) => values[Math.Min(values.Count - 1, (int)(values.Count * q))];
    const double StartupSloMs = 5000; // Kubernetes' pod startup SLO: p99 <= 5 s, image pulls excluded
    Console.WriteLine($"provider-agent benchmark: {podCount} pods (process runtime, `sleep`) on one agent, {Environment.ProcessorCount} cores");
    Console.WriteLine($"  create to Running        p50 {P(startup, 0.5),7:F1} ms   p99 {P(startup, 0.99),7:F1} ms   max {startup[^1],7:F1} ms   p99 is {StartupSloMs / P(startup, 0.99):F0}x under Kubernetes' 5 s pod startup SLO");
    Console.WriteLine($"  heartbeat round trip     p50 {P(rtt, 0.5),7:F2} ms   p99 {P(rtt, 0.99),7:F2} ms   ({heartbeats} signed heartbeats with {podCount} pods running; {valid} verified)");
    Console.WriteLine($"  delete the lease         {deleteSeconds,7:F1} s for {podCount} pods (SIGTERM to each process group, waited until gone)");
    exit = valid == heartbeats ? 0 : 1;
}
finally
{
    agent.Kill();
    await agent.WaitForExitAsync();
    root.Delete(recursive: true);
}

return exit;

async Task<JsonNode> Post(string path, JsonNode body)
{
    using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
    using var response = await http.PostAsync(path, content);
    var text = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode ? JsonNode.Parse(text)! : throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
}

static byte[] RandomKey()
{
    while (true)
    {
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        try
        {
            _ = new PrivateKey(bytes);
            return bytes;
        }
        catch (ArgumentException)
        {
        }
    }
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
