using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

// Failovers measured end to end: the operator, LocalKube with simulated cloud nodes (pods start 500 ms
// after binding) and provider agents, each a process. For each kind of failure (crash: SIGKILL of the
// agent; freeze: SIGSTOP; probe: the workload's HTTP probe starts failing) N failures are injected,
// in batches of one per agent, each agent running one deployment of one replica. From the bench's own
// clock: the time from the failure to the deployment's cloud pod existing, and to it being Ready. The
// reference is Kubernetes' default path for a node that stops: the node-monitor grace period (40 s)
// plus the default not-ready/unreachable toleration (300 s). Two more kinds fail at sla.startupSeconds
// (3 s here) instead: a workload that runs but never listens ("mute": sleep), and a pod the provider
// refuses ("refused": an image it has no program for, so the pod stays Pending); these are timed from the
// start-up deadline (the pod's start as the provider reports it, or its creationTimestamp, plus
// startupSeconds) to the cloud pod; before sla.startupSeconds existed, neither ever failed over.
// Usage: FailoverBench [--failures N] [--deadline-failures N] [--agents N]
var failures = Arg("--failures", 50);
var deadlineFailures = Arg("--deadline-failures", 20);
const int StartupSeconds = 3;
var agentCount = Arg("--agents", 10);
var reference = TimeSpan.FromSeconds(40 + 300);

await using var server = await LocalKubeServer.StartAsync(new ServerOptions { CloudNodes = new() { Count = 4, Cpu = "64", Memory = "256Gi" } });
using var kube = new Kubernetes(new KubernetesClientConfiguration { Host = server.Url.ToString() });
var root = Directory.CreateTempSubdirectory("failover-bench-");
var kubeconfig = Path.Combine(root.FullName, "kubeconfig");
await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig());
await ProjectCrds.InstallAsync(kube);
await kube.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "depin-system" } });
await kube.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "fleet-token" }, StringData = new Dictionary<string, string> { ["token"] = AgentProcess.Token } }, "depin-system");

await using var fleet = new AgentFleet(agentCount);
var ports = new int[agentCount];
var keys = new string[agentCount];
var entries = new List<DePin.Api.V1Alpha1.StaticProvider>();
for (var i = 0; i < agentCount; i++)
{
    ports[i] = AgentProcess.FreePort();
    keys[i] = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    fleet.Agents.Add(await StartAgentAsync(i));
    entries.Add(new DePin.Api.V1Alpha1.StaticProvider
    {
        Id = $"provider-{i:00}",
        Endpoint = $"http://127.0.0.1:{ports[i]}/",
        Region = "bench",
        Attributes = new Dictionary<string, string> { ["slot"] = i.ToString(CultureInfo.InvariantCulture) },
        AuthSecretRef = new SecretKeyReference { Name = "fleet-token", Namespace = "depin-system", Key = "token" },
    });
}

await kube.CustomObjects.CreateClusterCustomObjectAsync(new DePinMarketplace
{
    Metadata = new V1ObjectMeta { Name = "fleet" },
    Spec = new DePinMarketplaceSpec { Type = MarketplaceType.Static, Static = new StaticMarketplaceSpec { Providers = entries } },
}, "depin.dev", "v1alpha1", "depinmarketplaces");
await using var operatorProcess = await OperatorProcess.StartAsync(kubeconfig);
using var http = new HttpClient();
var workload = AgentProcess.WorkloadDll;
Console.WriteLine($"failover bench: {failures} failures of each kind ({deadlineFailures} of each start-up deadline kind), {agentCount} agents, one deployment of one replica each");

var results = new List<(string Kind, double Created, double Ready)>();
var batch = 0;
foreach (var kind in new[] { "crash", "freeze", "probe" })
{
    for (var done = 0; done < failures; batch++)
    {
        var count = Math.Min(agentCount, failures - done);
        var names = Enumerable.Range(0, count).Select(i => $"b{batch}-{kind}-{i}").ToList();
        for (var i = 0; i < count; i++)
        {
            await kube.CustomObjects.CreateNamespacedCustomObjectAsync(Deployment(names[i], i, kind), "depin.dev", "v1alpha1", "default", "depindeployments");
        }

        await Until(async () => (await Deployments()).Count(d => names.Contains((string)d["metadata"]!["name"]!) && (string?)d["status"]?["phase"] == "Running") == count, TimeSpan.FromMinutes(2));
        var hostPorts = new Dictionary<int, string>();
        foreach (var pod in (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"depin.dev/placement=provider,bench-batch={batch.ToString(CultureInfo.InvariantCulture)}")).Items)
        {
            hostPorts[int.Parse(pod.Metadata.Labels["bench-slot"], CultureInfo.InvariantCulture)] = pod.Metadata.Annotations["depin.dev/host-ports"].Split('=')[1];
        }

        // Inject one failure per agent, each timed on its own.
        var injected = new DateTime[count];
        for (var i = 0; i < count; i++)
        {
            injected[i] = DateTime.UtcNow;
            switch (kind)
            {
                case "crash":
                    await fleet.Agents[i].KillAsync();
                    break;
                case "freeze":
                    Signal(fleet.Agents[i].ProcessId, "STOP");
                    break;
                default:
                    // Running can come a moment before the workload listens: the failure starts at /sick.
                    await Eventually.GetWhenListeningAsync(http, new Uri($"http://127.0.0.1:{hostPorts[i]}/healthz"));
                    injected[i] = DateTime.UtcNow;
                    await http.GetStringAsync(new Uri($"http://127.0.0.1:{hostPorts[i]}/sick"));
                    break;
            }
        }

        var created = new double?[count];
        var ready = new double?[count];
        await Until(async () =>
        {
            var now = DateTime.UtcNow;
            foreach (var pod in (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/placement=fallback")).Items)
            {
                var i = int.Parse(pod.Metadata.Labels["bench-slot"], CultureInfo.InvariantCulture);
                if (pod.Metadata.Labels["bench-batch"] != batch.ToString(CultureInfo.InvariantCulture))
                {
                    continue;
                }

                created[i] ??= (now - injected[i]).TotalSeconds;
                if (pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true)
                {
                    ready[i] ??= (now - injected[i]).TotalSeconds;
                }
            }

            return ready.All(r => r is not null);
        }, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(50));
        for (var i = 0; i < count; i++)
        {
            results.Add((kind, created[i]!.Value, ready[i]!.Value));
        }

        // Undo the failures, then remove the deployments and wait until they are gone.
        for (var i = 0; i < count; i++)
        {
            switch (kind)
            {
                case "crash":
                    await fleet.Agents[i].DisposeAsync();
                    fleet.Agents[i] = await StartAgentAsync(i);
                    break;
                case "freeze":
                    Signal(fleet.Agents[i].ProcessId, "CONT");
                    break;
            }
        }

        foreach (var name in names)
        {
            await kube.CustomObjects.DeleteNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depindeployments", name);
        }

        await Until(async () => !(await Deployments()).Any(d => names.Contains((string)d["metadata"]!["name"]!)), TimeSpan.FromMinutes(2));
        done += count;
        Console.WriteLine($"  {kind}: {done}/{failures}");
    }
}

// The start-up deadline: the deployments never run well at the provider, so the clock starts from the
// provider pod's start ("mute") or creation ("refused") plus startupSeconds.
var deadlineResults = new List<(string Kind, double Created, double Ready)>();
foreach (var kind in new[] { "mute", "refused" })
{
    for (var done = 0; done < deadlineFailures; batch++)
    {
        var count = Math.Min(agentCount, deadlineFailures - done);
        var names = Enumerable.Range(0, count).Select(i => $"b{batch}-{kind}-{i}").ToList();
        for (var i = 0; i < count; i++)
        {
            await kube.CustomObjects.CreateNamespacedCustomObjectAsync(Deployment(names[i], i, kind), "depin.dev", "v1alpha1", "default", "depindeployments");
        }

        var deadline = new DateTime?[count];
        var created = new double?[count];
        var ready = new double?[count];
        await Until(async () =>
        {
            var now = DateTime.UtcNow;
            foreach (var pod in (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"bench-batch={batch.ToString(CultureInfo.InvariantCulture)}")).Items)
            {
                var i = int.Parse(pod.Metadata.Labels["bench-slot"], CultureInfo.InvariantCulture);
                if (pod.Metadata.Labels["depin.dev/placement"] == "provider")
                {
                    // mute: from its start as the provider reports it; refused: from its creation (whole seconds), as the operator counts.
                    var started = kind == "mute" ? pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running?.StartedAt?.ToUniversalTime() : pod.Metadata.CreationTimestamp?.ToUniversalTime();
                    deadline[i] ??= started?.AddSeconds(StartupSeconds);
                    continue;
                }

                if (deadline[i] is not { } due)
                {
                    continue;
                }

                created[i] ??= (now - due).TotalSeconds;
                if (pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true)
                {
                    ready[i] ??= (now - due).TotalSeconds;
                }
            }

            return ready.All(r => r is not null);
        }, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(50));
        for (var i = 0; i < count; i++)
        {
            deadlineResults.Add((kind, created[i]!.Value, ready[i]!.Value));
        }

        foreach (var name in names)
        {
            await kube.CustomObjects.DeleteNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depindeployments", name);
        }

        await Until(async () => !(await Deployments()).Any(d => names.Contains((string)d["metadata"]!["name"]!)), TimeSpan.FromMinutes(2));
        done += count;
        Console.WriteLine($"  {kind}: {done}/{deadlineFailures}");
    }
}

Console.WriteLine();
Console.WriteLine($"| failure | n | failure to cloud pod created, p50 / p99 | failure to cloud pod Ready, p50 / p99 | Kubernetes default ({reference.TotalSeconds:0} s) against our p99 to Ready |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var group in results.GroupBy(r => r.Kind))
{
    var createdP = Percentiles(group.Select(r => r.Created));
    var readyP = Percentiles(group.Select(r => r.Ready));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {group.Key} | {group.Count()} | {createdP.P50:0.00} s / {createdP.P99:0.00} s | {readyP.P50:0.00} s / {readyP.P99:0.00} s | {reference.TotalSeconds / readyP.P99:0}x faster |"));
}

Console.WriteLine();
Console.WriteLine($"| start-up failure (sla.startupSeconds {StartupSeconds}) | n | deadline to cloud pod created, p50 / p99 | deadline to cloud pod Ready, p50 / p99 |");
Console.WriteLine("|---|---|---|---|");
foreach (var group in deadlineResults.GroupBy(r => r.Kind))
{
    var createdP = Percentiles(group.Select(r => r.Created));
    var readyP = Percentiles(group.Select(r => r.Ready));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {group.Key} | {group.Count()} | {createdP.P50:0.00} s / {createdP.P99:0.00} s | {readyP.P50:0.00} s / {readyP.P99:0.00} s |"));
}

await operatorProcess.KillAsync();
root.Delete(recursive: true);
return 0;

async Task<AgentProcess> StartAgentAsync(int i) =>
    await AgentProcess.StartAsync(fleet.Directories[i].Data, ports[i], keys[i], "--capacity-cpu", "8", "--capacity-memory", "8192", "--heartbeat-interval", "250ms");

DePinDeployment Deployment(string name, int slot, string kind) => new()
{
    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
    Spec = new DePinDeploymentSpec
    {
        Replicas = 1,
        MarketplaceRef = new MarketplaceReference { Name = "fleet" },
        Template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["bench-slot"] = slot.ToString(CultureInfo.InvariantCulture), ["bench-batch"] = batch.ToString(CultureInfo.InvariantCulture) } },
            Spec = new V1PodSpec
            {
                Containers = [new V1Container
                {
                    Name = "web",
                    Image = kind == "refused" ? "registry.example/no-program-here:1" : "bench",
                    Command = kind switch
                    {
                        "mute" => ["sleep", "3600"],
                        "refused" => null,
                        _ => ["dotnet", workload, "$(PORT)", "0"],
                    },
                    Ports = [new V1ContainerPort { ContainerPort = 8080 }],
                    Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") } },
                }],
            },
        },
        Placement = new PlacementSpec { RequiredAttributes = new Dictionary<string, string> { ["slot"] = slot.ToString(CultureInfo.InvariantCulture) } },
        Bidding = new BiddingSpec { MaxPricePerHour = "1", BidWindowSeconds = 1 },
        Sla = new SlaSpec { Probe = new SlaProbe { HttpGet = new HttpGetProbe { Path = "/healthz", Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 2 }, StartupSeconds = kind is "mute" or "refused" ? StartupSeconds : SlaSpec.DefaultStartupSeconds },
        Fallback = new FallbackSpec { Enabled = true, Reauction = false, Failback = new FailbackSpec { Enabled = false } },
    },
};

async Task<List<JsonNode>> Deployments() =>
    [.. JsonNode.Parse(KubernetesJson.Serialize(await kube.CustomObjects.ListNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depindeployments")))!["items"]!.AsArray().Select(d => d!)];

static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? every = null)
{
    var clock = Stopwatch.StartNew();
    while (!await condition())
    {
        if (clock.Elapsed > timeout)
        {
            throw new TimeoutException("the benchmark's condition did not hold in time");
        }

        await Task.Delay(every ?? TimeSpan.FromMilliseconds(250));
    }
}

static (double P50, double P99) Percentiles(IEnumerable<double> values)
{
    var sorted = values.Order().ToList();
    double At(double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1)];
    return (At(0.5), At(0.99));
}

static void Signal(int pid, string signal)
{
    using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)])!;
    kill.WaitForExit();
}

static int Arg(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
