using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

// The operator as a process against LocalKube and a static fleet of provider agents (processes, process
// runtime): N DePinDeployments of 2 replicas are created at once; the benchmark measures the time until
// every one is Running, the operator's reconciles per second and p99 reconcile latency (from its own
// /metrics), and its peak memory (VmHWM). Each agent has room for 100 replicas and its own price, so the
// cheapest fill up first and the rest spread over the fleet, as a real fleet would.
// Usage: OperatorBench [--deployments N] [--providers N] [--workers N]
var count = Arg("--deployments", 1000);
var providerCount = Arg("--providers", 20);
var workers = Arg("--workers", 8);
var goal = TimeSpan.FromSeconds(120);
const double MemoryGoalMB = 300;

await using var server = await LocalKubeServer.StartAsync(new ServerOptions());
using var kube = new Kubernetes(new KubernetesClientConfiguration { Host = server.Url.ToString() });
var root = Directory.CreateTempSubdirectory("operator-bench-");
var kubeconfig = Path.Combine(root.FullName, "kubeconfig");
await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig());
await ProjectCrds.InstallAsync(kube);
await kube.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "depin-system" } });
await kube.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "fleet-token" }, StringData = new Dictionary<string, string> { ["token"] = AgentProcess.Token } }, "depin-system");

await using var fleet = new AgentFleet(providerCount);
var entries = new List<DePin.Api.V1Alpha1.StaticProvider>();
for (var i = 0; i < providerCount; i++)
{
    var price = (0.01 + (i * 0.001)).ToString("0.000", CultureInfo.InvariantCulture);
    var agent = await AgentProcess.StartAsync(fleet.Directories[i].Data, null, null, "--capacity-cpu", "10", "--capacity-memory", "100000", "--pricing-cpu-core-hour", price, "--pricing-minimum", "0.0001", "--runtime-status-interval", "1s");
    fleet.Agents.Add(agent);
    entries.Add(new DePin.Api.V1Alpha1.StaticProvider
    {
        Id = $"provider-{i:00}",
        Endpoint = $"http://127.0.0.1:{agent.Port}/",
        Region = "bench",
        AuthSecretRef = new SecretKeyReference { Name = "fleet-token", Namespace = "depin-system", Key = "token" },
    });
}

await kube.CustomObjects.CreateClusterCustomObjectAsync(new DePinMarketplace
{
    Metadata = new V1ObjectMeta { Name = "fleet" },
    Spec = new DePinMarketplaceSpec { Type = MarketplaceType.Static, Static = new StaticMarketplaceSpec { Providers = entries } },
}, "depin.dev", "v1alpha1", "depinmarketplaces");

await using var operatorProcess = await OperatorProcess.StartAsync(kubeconfig, "--workers", workers.ToString(CultureInfo.InvariantCulture));
var operatorPid = operatorProcess.ProcessId;
Console.WriteLine($"operator bench: {count} deployments of 2 replicas, {providerCount} providers, {workers} workers per controller");

var clock = Stopwatch.StartNew();
await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
{
    var deployment = new DePinDeployment
    {
        Metadata = new V1ObjectMeta { Name = $"bench-{i:0000}", NamespaceProperty = "default" },
        Spec = new DePinDeploymentSpec
        {
            Replicas = 2,
            MarketplaceRef = new MarketplaceReference { Name = "fleet" },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "bench" } },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container
                    {
                        Name = "main",
                        Image = "bench",
                        Command = ["sleep", "3600"],
                        Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("16Mi") } },
                    }],
                },
            },
            Bidding = new BiddingSpec { MaxPricePerHour = "1", BidWindowSeconds = 1 },
        },
    };
    await kube.CustomObjects.CreateNamespacedCustomObjectAsync(deployment, "depin.dev", "v1alpha1", "default", "depindeployments", cancellationToken: ct);
});
var created = clock.Elapsed;

var running = 0;
var peakRss = 0.0;
var deadline = TimeSpan.FromMinutes(10);
while (clock.Elapsed < deadline)
{
    var list = JsonNode.Parse(KubernetesJson.Serialize(await kube.CustomObjects.ListNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depindeployments")))!;
    running = list["items"]!.AsArray().Count(d => (string?)d!["status"]?["phase"] == "Running");
    peakRss = Math.Max(peakRss, Memory(operatorPid, "VmRSS"));
    if (running == count)
    {
        break;
    }

    await Task.Delay(1000);
}

var elapsed = clock.Elapsed;
using var http = new HttpClient();
var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{operatorProcess.Port}/metrics"));
var peak = Math.Max(peakRss, Memory(operatorPid, "VmHWM"));
var reconciles = Sum(metrics, "depin_controller_reconcile_total", null);
var (p99All, p99Deployments) = (Percentile(metrics, null, 0.99), Percentile(metrics, "depindeployment.auction", 0.99));
var pods = (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=bench")).Items;
var spread = pods.GroupBy(p => p.Metadata.Labels["depin.dev/provider"]).Count();

Console.WriteLine();
Console.WriteLine($"| figure | result ({DateTime.UtcNow:yyyy-MM-dd}) | goal |");
Console.WriteLine("|---|---|---|");
Console.WriteLine($"| deployments Running | {running} of {count} ({pods.Count(p => p.Status?.Phase == "Running")} pods Running on {spread} providers) | all |");
Console.WriteLine($"| time until all Running (created in {created.TotalSeconds:0.0} s) | {elapsed.TotalSeconds:0.0} s | {goal.TotalSeconds:0} s: {goal.TotalSeconds / elapsed.TotalSeconds:0.00}x |");
Console.WriteLine($"| reconciles per second (all controllers) | {reconciles / elapsed.TotalSeconds:0} ({reconciles:0} in all) | - |");
Console.WriteLine($"| p99 reconcile latency | {p99Deployments * 1000:0} ms DePinDeployment, {p99All * 1000:0} ms all controllers (bucket bound) | - |");
var peakMB = peak * 1024 * 1024 / 1e6;
Console.WriteLine($"| operator peak memory (VmHWM) | {peakMB:0} MB ({peak:0} MiB); managed heap after the last GC {Sum(metrics, "dotnet_gc_last_collection_heap_size_bytes", null) / 1e6:0} MB, committed {Sum(metrics, "dotnet_gc_last_collection_memory_committed_size_bytes", null) / 1e6:0} MB | {MemoryGoalMB:0} MB: {MemoryGoalMB / peakMB:0.00}x |");
await operatorProcess.KillAsync();
root.Delete(recursive: true);
return running == count ? 0 : 1;

static int Arg(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Memory(int pid, string field)
{
    try
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
    catch (IOException)
    {
        return 0;
    }
}

static double Sum(string metrics, string name, string? controller) =>
    metrics.Split('\n')
        .Where(l => (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)) && (controller is null || l.Contains($"controller=\"{controller}\"", StringComparison.Ordinal)))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

// The upper bound of the histogram bucket in which the quantile falls, summed over the matching series.
static double Percentile(string metrics, string? controller, double quantile)
{
    var buckets = new SortedDictionary<double, double>();
    foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("depin_controller_reconcile_duration_seconds_bucket{", StringComparison.Ordinal)))
    {
        if (controller is not null && !line.Contains($"controller=\"{controller}\"", StringComparison.Ordinal))
        {
            continue;
        }

        var bound = Regex.Match(line, "le=\"([^\"]+)\"").Groups[1].Value;
        var upper = bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture);
        buckets[upper] = buckets.GetValueOrDefault(upper) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    var total = buckets.Count > 0 ? buckets.Last().Value : 0;
    return buckets.FirstOrDefault(b => b.Value >= quantile * total).Key;
}
