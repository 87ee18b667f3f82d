using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

// make demo: LocalKube with two simulated cloud nodes, anvil with the DePinMarket contract and its
// stablecoin, three provider agents with their own prices and regions, and the operator, all on
// loopback ports. It applies the web-service example and prints a timeline with the figures measured
// in this run: the order, the bids, the decision, the leases, the virtual nodes, the pods, the workload
// answering; then it kills the chosen provider and prints the fallback to cloud nodes, the re-auction
// and the failback. Everything keeps running for kubectl until Ctrl+C, unless --exit is given.
// Exits 1 when a step does not happen in time.
try
{
    return await RunAsync(args.Contains("--exit"));
}
catch (Exception e)
{
    // A step that did not happen, or anything that broke on the way: say which, and exit 1.
    await Console.Error.WriteLineAsync($"demo failed: {(e is DemoFailedException ? e.Message : e.ToString())}");
    return 1;
}

static async Task<int> RunAsync(bool exit)
{
    var folder = Directory.CreateDirectory(RepositoryPaths.Of("artifacts", "demo")).FullName;
    var clock = Stopwatch.StartNew();
    var story = new Timeline(clock);

    story.Say("starting LocalKube (the local control plane) with two simulated cloud nodes");
    await using var server = await LocalKubeServer.StartAsync(new ServerOptions { CloudNodes = new() { Count = 2 } });
    var kubeconfig = Path.Combine(folder, "kubeconfig");
    await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig());
    using var kube = new Kubernetes(new KubernetesClientConfiguration { Host = server.Url.ToString() });
    await ProjectCrds.InstallAsync(kube);
    await Kubectl(kubeconfig, "apply", "-f", await WriteAsync(folder, "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: depin-system\n"));

    story.Say("starting anvil and deploying TestStablecoin and DePinMarket");
    await using var chain = await MarketChain.StartAsync();
    var tenant = chain.Key(1).Address;
    await chain.Token.MintAsync(tenant, 1_000 * MarketChain.Unit);
    story.Say($"chain {chain.ChainId} at {chain.Node.Endpoint}: DePinMarket {chain.Market.Address}, stablecoin {chain.Token.Address}; tenant {tenant} holds 1000 tokens");

    var providers = new[] { ("eu-west", "0.02"), ("eu-central", "0.03"), ("us-east", "0.04") };
    await using var fleet = new AgentFleet(providers.Length);
    var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    for (var i = 0; i < providers.Length; i++)
    {
        var (region, price) = providers[i];
        fleet.Agents.Add(await chain.StartAgentAsync(fleet.Directories[i], 2 + i, "--capacity-cpu", "4", "--capacity-memory", "4096", "--pricing-cpu-core-hour", price, "--evm-region", region));
        var address = chain.Key(2 + i).Address.ToString();
        names[address] = $"provider {(char)('A' + i)} ({region}, {price} per core-hour)";
        story.Say($"{names[address]}: agent {address} on port {fleet.Agents[i].Port}, registered on chain");
    }

    // The marketplace and the tenant's wallet, as a platform team would apply them.
    await Kubectl(kubeconfig, "apply", "-f", await WriteAsync(folder, "marketplace.yaml", $"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: depin-wallet
          namespace: depin-system
        stringData:
          private-key: "{chain.Node.PrivateKeys[1]}"
        ---
        apiVersion: depin.dev/v1alpha1
        kind: DePinMarketplace
        metadata:
          name: anvil
        spec:
          type: Evm
          evm:
            rpcUrl: {chain.Node.Endpoint}
            chainId: {chain.ChainId}
            contractAddress: "{chain.Market.Address}"
            paymentToken: "{chain.Token.Address}"
            walletSecretRef:
              name: depin-wallet
              namespace: depin-system
              key: private-key
            pollIntervalSeconds: 1
        """));

    story.Say("starting the operator");
    await using var operatorProcess = await OperatorProcess.StartAsync(kubeconfig);

    // The web-service example with two replicas on the EVM marketplace; its container runs a small HTTP
    // workload as a process, since the agents here use the process runtime.
    var example = YamlJson.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("crds", "examples", "web-service.yaml")))!;
    example["spec"]!["replicas"] = 2;
    example["spec"]!["marketplaceRef"]!["name"] = "anvil";
    example["spec"]!["bidding"]!["bidWindowSeconds"] = 3;
    example["spec"]!["template"]!["spec"]!["containers"]![0]!["command"] = new JsonArray("dotnet", AgentProcess.WorkloadDll, "$(PORT)", "0");
    var manifest = await WriteAsync(folder, "web.yaml", example.ToJsonString());
    story.Mark("apply");
    story.Say($"kubectl apply -f {manifest}: DePinDeployment web, 2 replicas, at most 1 per provider, at most 0.05 per hour, bids for 3 s");
    await Kubectl(kubeconfig, "apply", "-f", manifest);

    var web = await story.WaitAsync("the order", async () => await Deployment(kube) is { Status.Order.Id: not null } d ? d : null);
    story.Say($"order {web.Status!.Order!.Id} posted on chain for {web.Status.Order.Replicas} replicas, bids until {web.Status.Order.BidDeadline:HH:mm:ss}", "apply");
    web = await story.WaitAsync("the decision", async () => await Deployment(kube) is { Status.Decision.Outcome: not null } d ? d : null);
    foreach (var bid in web.Status!.Decision!.Chosen!.Concat(web.Status.Decision.Rejected ?? []).OrderBy(b => decimal.Parse(b.PricePerHour, CultureInfo.InvariantCulture)))
    {
        story.Say($"  bid {bid.BidId} from {Name(bid.Provider)}: {bid.PricePerHour} per hour, {bid.Reason}{(bid.Message is null ? "" : ": " + bid.Message)}");
    }

    story.Say($"decision: {web.Status.Decision.Outcome}, {string.Join(" and ", web.Status.Decision.Chosen!.Select(b => Name(b.Provider)))} win", "apply");
    var leases = await story.WaitAsync("the leases", async () => await Leases(kube) is { Count: 2 } l && l.All(x => x.Status?.NodeName is not null) ? l : null);
    foreach (var lease in leases)
    {
        story.Say($"lease {lease.Spec.LeaseId} with {Name(lease.Spec.Provider.Address ?? lease.Spec.Provider.Id)} at {lease.Spec.PricePerHour} per hour, escrow on chain; DePinLease {lease.Metadata.Name}", "apply");
    }

    await story.WaitAsync("the virtual nodes Ready", async () => (await kube.CoreV1.ListNodeAsync(labelSelector: "type=virtual-kubelet")).Items is { Count: 2 } n && n.All(Ready) ? n : null);
    story.Say($"virtual nodes {string.Join(", ", leases.Select(l => l.Status!.NodeName))} Ready: the providers' signed heartbeats verify", "apply");
    var pods = await story.WaitAsync("the pods Running", async () => await Pods(kube, "provider") is { Count: 2 } p && p.All(x => x.Status?.Phase == "Running") ? p : null);
    story.Say($"pods {string.Join(", ", pods.Select(p => $"{p.Metadata.Name} on {p.Spec.NodeName}"))} Running at the providers", "apply");
    var answer = await story.WaitAsync("the workload answering", async () => await Answer(pods[0]));
    story.Say($"the workload answers through the provider: {answer}", "apply");
    await Kubectl(kubeconfig, "wait", "--for=condition=Ready", "dpd/web", "--timeout=60s");
    story.Say("kubectl wait --for=condition=Ready dpd/web: condition met", "apply");

    // The chosen, cheapest provider dies.
    var victim = web.Status.Decision.Chosen![0].Provider;
    var victimIndex = Enumerable.Range(0, providers.Length).Single(i => string.Equals(chain.Key(2 + i).Address.ToString(), victim, StringComparison.OrdinalIgnoreCase));
    story.Mark("kill");
    await fleet.Agents[victimIndex].KillAsync();
    story.Say($"{Name(victim)} killed with SIGKILL");
    var cloud = await story.WaitAsync("a cloud pod", async () => (await Pods(kube, "fallback")).FirstOrDefault());
    story.Say($"fallback: cloud pod {cloud.Metadata.Name} created", "kill");
    cloud = await story.WaitAsync("the cloud pod Ready", async () => (await Pods(kube, "fallback")).FirstOrDefault(PodReady));
    story.Say($"fallback: {cloud.Metadata.Name} Ready on {cloud.Spec.NodeName}", "kill");

    // From here on, Ready replicas are sampled every 100 ms: the failback must never lower them.
    var fewest = int.MaxValue;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            var all = (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=web")).Items;
            fewest = Math.Min(fewest, all.Count(p => p.Metadata.DeletionTimestamp is null && PodReady(p)));
            await Task.Delay(100);
        }
    });

    web = await story.WaitAsync("status.lastFailover", async () => await Deployment(kube) is { Status.LastFailover.Seconds: not null } d ? d : null);
    story.Say($"status.lastFailover: {web.Status!.LastFailover!.Reason}, cloud pods {web.Status.LastFailover.Seconds:0.000} s after the failure was detected; phase {web.Status.Phase}", "kill");
    var firstOrder = web.Status.Decision!.OrderId;
    web = await story.WaitAsync("the re-auction", async () => await Deployment(kube) is { Status.Decision: { Outcome: not null } decision } d && decision.OrderId != firstOrder ? d : null);
    story.Say($"re-auction: order {web.Status!.Decision!.OrderId} without {Name(victim)}; {string.Join(" and ", web.Status.Decision.Chosen!.Select(b => $"{Name(b.Provider)} at {b.PricePerHour} per hour"))} wins", "kill");
    var newLease = await story.WaitAsync("the new lease", async () => (await Leases(kube)).FirstOrDefault(l => l.Spec.OrderId == web.Status.Decision.OrderId && l.Status?.NodeName is not null));
    var newPod = await story.WaitAsync("the new lease's pod Ready", async () => (await Pods(kube, "provider")).FirstOrDefault(p => p.Spec.NodeName == newLease.Status?.NodeName && PodReady(p)));
    story.Say($"lease {newLease.Spec.LeaseId} with {Name(newLease.Spec.Provider.Address ?? newLease.Spec.Provider.Id)}: pod {newPod.Metadata.Name} Ready on {newPod.Spec.NodeName}; the cloud pod stays until the dwell time of max(stableSeconds, 30 s) has passed", "kill");
    web = await story.WaitAsync("the failback", async () => await Deployment(kube) is { Status: { FallbackReplicas: 0, LastFailback.Time: not null, Phase: DeploymentPhase.Running } } d ? d : null, TimeSpan.FromSeconds(120));
    await sampling.CancelAsync();
    await sampler;
    story.Say($"failback: the cloud pod removed after {web.Status!.LastFailback!.SecondsOnFallback:0.0} s on cloud nodes; Ready replicas never fell below {fewest} while it moved back", "kill");
    story.Say($"web is {web.Status.Phase} with {web.Status.ReadyReplicas} Ready replicas on {web.Status.Providers}, {web.Status.PricePerHour} per hour");

    Console.WriteLine();
    Console.WriteLine(await Kubectl(kubeconfig, "get", "dpd,dpl,nodes,pods", "-o", "wide"));
    if (exit)
    {
        story.Say("done (--exit): stopping everything");
        return 0;
    }

    Console.WriteLine("Everything keeps running. In another shell:");
    Console.WriteLine();
    Console.WriteLine($"  export KUBECONFIG={kubeconfig}");
    Console.WriteLine("  kubectl get dpd,dpl,nodes,pods");
    Console.WriteLine("  kubectl describe dpd web");
    Console.WriteLine();
    Console.WriteLine("Press Ctrl+C to stop it all.");
    var stopped = new TaskCompletionSource();
    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stopped.TrySetResult(); });
    using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stopped.TrySetResult(); });
    await stopped.Task;
    story.Say("stopping everything");
    return 0;

    string Name(string provider) => names.TryGetValue(provider, out var name) ? name : provider;
}

static bool Ready(V1Node node) => node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

static bool PodReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

static async Task<DePinDeployment?> Deployment(Kubernetes kube)
{
    try
    {
        return KubernetesJson.Deserialize<DePinDeployment>(KubernetesJson.Serialize(await kube.CustomObjects.GetNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depindeployments", "web")));
    }
    catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
    {
        return null;
    }
}

static async Task<List<DePinLease>> Leases(Kubernetes kube)
{
    var list = JsonNode.Parse(KubernetesJson.Serialize(await kube.CustomObjects.ListNamespacedCustomObjectAsync("depin.dev", "v1alpha1", "default", "depinleases")))!;
    return [.. list["items"]!.AsArray().Select(i => KubernetesJson.Deserialize<DePinLease>(i!.ToJsonString())).Where(l => l.Metadata.DeletionTimestamp is null)];
}

static async Task<List<V1Pod>> Pods(Kubernetes kube, string placement) =>
    [.. (await kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"depin.dev/deployment=web,depin.dev/placement={placement}")).Items.Where(p => p.Metadata.DeletionTimestamp is null)];

// A GET to the workload through the provider's host port (annotation depin.dev/host-ports).
static async Task<string?> Answer(V1Pod pod)
{
    if (pod.Metadata.Annotations?.TryGetValue("depin.dev/host-ports", out var ports) != true || ports!.Split('=') is not [_, var port])
    {
        return null;
    }

    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
    var url = new Uri($"http://127.0.0.1:{port.Split(',')[0]}/");
    try
    {
        var started = Stopwatch.StartNew();
        using var response = await http.GetAsync(url);
        var body = (await response.Content.ReadAsStringAsync()).Trim();
        return $"GET {url} -> {(int)response.StatusCode} in {started.Elapsed.TotalMilliseconds:0} ms: \"{(body.Length > 60 ? body[..60] + "..." : body)}\"";
    }
    catch (HttpRequestException)
    {
        return null;
    }
}

static async Task<string> WriteAsync(string folder, string name, string text)
{
    var path = Path.Combine(folder, name);
    await File.WriteAllTextAsync(path, text);
    return path;
}

static async Task<string> Kubectl(string kubeconfig, params string[] arguments)
{
    var result = await CommandLine.RunAsync("kubectl", arguments, new CommandOptions { Environment = new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig } });
    return result.Exit == 0 ? result.Output : throw new DemoFailedException($"kubectl {string.Join(' ', arguments)} failed: {result.Error}");
}

/// <summary>Prints what happens, with the seconds since the demo started and since a named moment.</summary>
internal sealed class Timeline(Stopwatch clock)
{
    private readonly Dictionary<string, TimeSpan> _marks = new(StringComparer.Ordinal);

    public void Mark(string name) => _marks[name] = clock.Elapsed;

    public void Say(string text, string? since = null)
    {
        var relative = since is not null && _marks.TryGetValue(since, out var mark) ? string.Create(CultureInfo.InvariantCulture, $" (+{(clock.Elapsed - mark).TotalSeconds:0.00} s after {since})") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,7:0.00} s] {text}{relative}"));
    }

    // Polls until the step has happened; a step that does not happen in time ends the demo with exit code 1.
    public async Task<T> WaitAsync<T>(string step, Func<Task<T?>> happened, TimeSpan? timeout = null)
        where T : class
    {
        var deadline = clock.Elapsed + (timeout ?? TimeSpan.FromSeconds(60));
        while (clock.Elapsed < deadline)
        {
            if (await happened() is { } value)
            {
                return value;
            }

            await Task.Delay(50);
        }

        throw new DemoFailedException($"{step} did not happen within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s");
    }
}

/// <summary>A step of the demo that failed.</summary>
internal sealed class DemoFailedException(string message) : Exception(message);
