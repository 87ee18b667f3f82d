using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using DePin.LocalKube;
using DePin.Testing;

// LocalKube throughput: create custom resources over HTTP, list them, and fan every change out to
// concurrent watchers. Usage: LocalKubeBench [--objects N] [--watchers N] [--writers N]
var objects = Arg("--objects", 10_000);
var watchers = Arg("--watchers", 100);
var writers = Arg("--writers", 8);

await using var server = await LocalKubeServer.StartAsync();
using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(5) };
await Post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", YamlJson.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("crds", "depin.dev_depindeployments.yaml")))!.ToJsonString());
var template = YamlJson.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("crds", "examples", "web-service.yaml")))!;
const string Path1 = "/apis/depin.dev/v1alpha1/namespaces/default/depindeployments";

// Watchers first, from the current version, so every create reaches every watcher.
var clock = Stopwatch.StartNew();
var sent = new long[objects];
var latencies = new long[watchers][];
var startRv = JsonNode.Parse(await http.GetStringAsync(Path1))!["metadata"]!["resourceVersion"]!.ToString();
var watchTasks = Enumerable.Range(0, watchers).Select(w => Task.Run(async () =>
{
    latencies[w] = new long[objects];
    using var response = await http.GetAsync($"{Path1}?watch=true&resourceVersion={startRv}", HttpCompletionOption.ResponseHeadersRead);
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
    for (var received = 0; received < objects;)
    {
        var line = await reader.ReadLineAsync() ?? throw new InvalidOperationException("watch ended early");
        var at = line.IndexOf("\"name\":\"bench-", StringComparison.Ordinal);
        var index = int.Parse(line.AsSpan(at + 14, line.IndexOf('"', at + 14) - at - 14), CultureInfo.InvariantCulture);
        latencies[w][index] = clock.ElapsedTicks - Volatile.Read(ref sent[index]);
        received++;
    }
})).ToArray();
while (server.Store.WatchCount < watchers)
{
    await Task.Delay(10);
}

// Writes.
var createClock = Stopwatch.StartNew();
var next = -1;
await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
{
    for (var i = Interlocked.Increment(ref next); i < objects; i = Interlocked.Increment(ref next))
    {
        var obj = template.DeepClone();
        obj["metadata"]!["name"] = $"bench-{i}";
        Volatile.Write(ref sent[i], clock.ElapsedTicks);
        await Post(Path1, obj.ToJsonString());
    }
})));
var createSeconds = createClock.Elapsed.TotalSeconds;
await Task.WhenAll(watchTasks);
var fanOutSeconds = createClock.Elapsed.TotalSeconds;

// Reads.
var listClock = Stopwatch.StartNew();
var all = JsonNode.Parse(await http.GetStringAsync(Path1))!["items"]!.AsArray().Count;
var listSeconds = listClock.Elapsed.TotalSeconds;
listClock.Restart();
var paged = 0;
for (string? token = null; ;)
{
    var page = JsonNode.Parse(await http.GetStringAsync($"{Path1}?limit=500{(token is null ? "" : $"&continue={token}")}"))!;
    paged += page["items"]!.AsArray().Count;
    token = (string?)page["metadata"]!["continue"];
    if (token is null)
    {
        break;
    }
}

var pagedSeconds = listClock.Elapsed.TotalSeconds;
var delivery = latencies.SelectMany(l => l).Order().ToArray();
double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
var peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);

Console.WriteLine($"LocalKube benchmark: {objects:N0} DePinDeployments, {writers} writers, {watchers} watchers, {Environment.ProcessorCount} cores");
Console.WriteLine($"  create              {objects / createSeconds,10:N0} objects/s   ({createSeconds:F1} s)");
Console.WriteLine($"  fan-out             {(double)objects * watchers / fanOutSeconds,10:N0} events/s    ({(long)objects * watchers:N0} events in {fanOutSeconds:F1} s)");
Console.WriteLine($"  watch delivery      p50 {Ms(delivery[delivery.Length / 2]),8:F1} ms   p99 {Ms(delivery[(int)(delivery.Length * 0.99)]),8:F1} ms   max {Ms(delivery[^1]),8:F1} ms   (write sent to event read)");
Console.WriteLine($"  list all            {all / listSeconds,10:N0} objects/s   ({all:N0} in {listSeconds * 1000:F0} ms)");
Console.WriteLine($"  list in pages       {paged / pagedSeconds,10:N0} objects/s   ({paged:N0} in pages of 500, {pagedSeconds * 1000:F0} ms)");
Console.WriteLine($"  peak memory         {peak,10:N0} MiB      (working set of server and clients, one process)");
return all == objects && paged == objects ? 0 : 1;

async Task Post(string path, string json)
{
    using var content = new StringContent(json, Encoding.UTF8);
    content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
    using var response = await http.PostAsync(path, content);
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
