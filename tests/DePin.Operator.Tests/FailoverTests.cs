using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Numerics;
using DePin.Api.V1Alpha1;
using DePin.Ethereum.Contracts;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>Failover to the simulated cloud nodes, re-auction and failback, with the operator, LocalKube and agents as processes.</summary>
public sealed class FailoverTests
{
    private static readonly TestProvider[] Fleet =
    [
        new("provider-a", "eu-west", "0.02"),
        new("provider-b", "eu-central", "0.03"),
        new("provider-c", "us-east", "0.04"),
    ];

    [Fact]
    public async Task AProviderKilled_ItsReplicasRunOnCloudNodesWithinTwoSeconds_ThenMoveToANewLeaseMakeBeforeBreak()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.WebServiceExample("crash");
        deployment.Spec.Replicas = 2;
        deployment.Spec.Fallback.Failback.StableSeconds = 0;
        await world.CreateAsync(deployment);
        await world.WaitAsync("crash", d => d.Status?.Phase == DeploymentPhase.Running);
        var victim = world.Fleet.Agents[0];

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        V1Pod? cloud = null;
        await world.UntilAsync(async () => (cloud = (await CloudPodsAsync(world, "crash")).FirstOrDefault()) is not null, "a cloud pod", TimeSpan.FromSeconds(30));
        var created = clock.Elapsed;
        Assert.True(created < TimeSpan.FromSeconds(2), $"the cloud pod came {created.TotalSeconds:0.000} s after the kill");
        Assert.Equal("linux", cloud!.Spec.NodeSelector["kubernetes.io/os"]);

        await world.UntilAsync(async () => (await CloudPodsAsync(world, "crash")).Any(p => Ready(p) && p.Spec.NodeName?.StartsWith("cloud-", StringComparison.Ordinal) == true), "the cloud pod Ready", TimeSpan.FromSeconds(30));
        var failedOver = await world.WaitAsync("crash", d => d.Status?.LastFailover?.Provider == "provider-a");
        Assert.Equal("HeartbeatLost", failedOver.Status!.LastFailover!.Reason);
        Assert.InRange(failedOver.Status.LastFailover.Seconds!.Value, Math.Max(0, created.TotalSeconds - 0.5), created.TotalSeconds + 0.5);

        // The replicas never drop below two Ready while a new lease (not with provider-a) takes the cloud pod's place.
        var fewest = int.MaxValue;
        var sampling = Task.Run(async () =>
        {
            while (true)
            {
                var pods = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=crash")).Items;
                fewest = Math.Min(fewest, pods.Count(p => p.Metadata.DeletionTimestamp is null && Ready(p)));
                if (pods.All(p => p.Metadata.Labels["depin.dev/placement"] == "provider") && pods.Count(Ready) == 2)
                {
                    return;
                }

                await Task.Delay(100);
            }
        });
        await world.UntilAsync(() => Task.FromResult(sampling.IsCompleted), "the failback", TimeSpan.FromSeconds(60));
        await sampling;
        Assert.True(fewest >= 2, $"Ready replicas dropped to {fewest} during the failback");
        var back = await world.WaitAsync("crash", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.LastFailback is not null);
        Assert.Equal("provider-b,provider-c", back.Status!.Providers);
        Assert.Contains(back.Status.FailedProviders!, f => f.Provider == "provider-a");
        // The lease with the dead provider is closing: it cannot confirm, so it goes after the grace period.
        Assert.DoesNotContain(await world.LeasesAsync(), l => l.Spec.Provider.Id == "provider-a" && l.Metadata.DeletionTimestamp is null);
        Assert.Contains(back.Status.Conditions!, c => c.Type == "FallbackActive" && c.Status == "False");
    }

    [Fact]
    public async Task AFrozenProvider_FailsOverWithinPeriodTimesThresholdPlusOneSecond()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0], Fleet[1]);
        var deployment = OperatorWorld.OneReplicaExample("frozen");
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);
        await world.WaitAsync("frozen", d => d.Status?.Phase == DeploymentPhase.Running);
        var probe = deployment.Spec.Sla!.Probe!;
        var limit = TimeSpan.FromSeconds((probe.PeriodSeconds * probe.FailureThreshold) + 1);

        var clock = Stopwatch.StartNew();
        Signal(world.Fleet.Agents[0].ProcessId, "STOP");
        try
        {
            await world.UntilAsync(async () => (await CloudPodsAsync(world, "frozen")).Count > 0, "a cloud pod", TimeSpan.FromSeconds(30));
            Assert.True(clock.Elapsed < limit, $"the cloud pod came {clock.Elapsed.TotalSeconds:0.000} s after the freeze; the limit is {limit.TotalSeconds} s");
            var status = (await world.WaitAsync("frozen", d => d.Status?.LastFailover is not null)).Status!;
            Assert.Equal("HeartbeatTimeout", status.LastFailover!.Reason);
        }
        finally
        {
            Signal(world.Fleet.Agents[0].ProcessId, "CONT");
        }
    }

    [Fact]
    public async Task AWorkloadFailingItsProbe_FailsOverWithinPeriodTimesThresholdPlusOneSecond()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0], Fleet[1]);
        var deployment = OperatorWorld.OneReplicaExample("sick");
        deployment.Spec.Sla!.Probe = new SlaProbe { HttpGet = new HttpGetProbe { Path = "/healthz", Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 3 };
        await world.CreateAsync(deployment);
        await world.WaitAsync("sick", d => d.Status?.Phase == DeploymentPhase.Running);
        var pod = Assert.Single((await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=sick")).Items);
        var port = pod.Metadata.Annotations["depin.dev/host-ports"].Split('=')[1];

        using var http = new HttpClient();
        var clock = Stopwatch.StartNew();
        await Eventually.GetWhenListeningAsync(http, new Uri($"http://127.0.0.1:{port}/sick"));
        await world.UntilAsync(async () => (await CloudPodsAsync(world, "sick")).Count > 0, "a cloud pod", TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the cloud pod came {clock.Elapsed.TotalSeconds:0.000} s after the probe began failing");
        var status = (await world.WaitAsync("sick", d => d.Status?.LastFailover is not null)).Status!;
        Assert.Equal("ProbeFailed", status.LastFailover!.Reason);

        // Re-auction leaves provider-a out: the replica comes back on provider-b, and the cloud pod goes.
        var back = await world.WaitAsync("sick", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.FallbackReplicas == 0 && d.Status.Providers == "provider-b", TimeSpan.FromSeconds(90));
        Assert.Equal(1, back.Status!.ReadyReplicas);

        // What was measured of provider-a outlives its lease and the operator: after a restart, an auction
        // that asks for a reputation above what provider-a showed leaves it out.
        await world.UntilAsync(async () => await ReputationAsync(world, "provider-a") is { Failed: >= 3 }, "provider-a's figures kept", TimeSpan.FromSeconds(30));
        await world.RestartOperatorAsync();
        var picky = OperatorWorld.OneReplicaExample("picky");
        picky.Spec.Placement.MinReputation = 0.99;
        await world.CreateAsync(picky);
        var decided = await world.WaitAsync("picky", d => d.Status?.Phase == DeploymentPhase.Running);
        Assert.Equal("provider-b", decided.Status!.Providers);
        Assert.Equal("ReputationTooLow", Assert.Single(decided.Status.Decision!.Rejected!, r => r.Provider == "provider-a").Reason);
    }

    [Fact]
    public async Task AProviderFlappingEverySecondForTwoMinutes_MovesTheReplicasAtMostOncePerDwellWindow()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0], Fleet[1]);
        var deployment = OperatorWorld.OneReplicaExample("flappy");
        deployment.Spec.Sla!.Probe = new SlaProbe { TcpSocket = new TcpSocketProbe { Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 1 };
        deployment.Spec.Fallback.Reauction = false;
        deployment.Spec.Fallback.Failback.StableSeconds = 10;
        var dwell = TimeSpan.FromSeconds(30); // max(stableSeconds, 30 s)
        await world.CreateAsync(deployment);
        await world.WaitAsync("flappy", d => d.Status?.Phase == DeploymentPhase.Running);
        var agent = world.Fleet.Agents[0].ProcessId;

        // Every move shows in status; a sampler collects the times of failovers and failbacks.
        var failovers = new SortedSet<DateTime>();
        var failbacks = new SortedSet<DateTime>();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (await world.GetAsync("flappy") is { Status: { } status })
                {
                    if (status.LastFailover?.Time is { } failedOver)
                    {
                        failovers.Add(failedOver);
                    }

                    if (status.LastFailback?.Time is { } failedBack)
                    {
                        failbacks.Add(failedBack);
                    }
                }

                await Task.Delay(200);
            }
        });

        // Down for a second, up for a second, for two minutes.
        var clock = Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                Signal(agent, "STOP");
                await Task.Delay(1000);
                Signal(agent, "CONT");
                await Task.Delay(1000);
            }
        }
        finally
        {
            Signal(agent, "CONT");
        }

        var back = await world.WaitAsync("flappy", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.FallbackReplicas == 0 && (d.Status.LastFailover is null || d.Status.LastFailback?.Time >= d.Status.LastFailover.Time), TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await sampler;

        // The sampler may have stopped between two of its reads: the final status counts too.
        failovers.UnionWith(back.Status!.LastFailover?.Time is { } lastOver ? [lastOver] : []);
        failbacks.UnionWith(back.Status.LastFailback?.Time is { } lastBack ? [lastBack] : []);
        Assert.Equal("provider-a", back.Status.Providers);
        Assert.NotEmpty(failovers);
        foreach (var (kind, times) in new[] { ("failovers", failovers), ("failbacks", failbacks) })
        {
            foreach (var (earlier, later) in times.Zip(times.Skip(1)))
            {
                if (later - earlier < dwell - TimeSpan.FromSeconds(1))
                {
                    Assert.Fail($"two {kind} {(later - earlier).TotalSeconds:0.0} s apart: {string.Join(", ", times.Select(t => t.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}; operator log:\n{world.OperatorLog}");
                }
            }
        }

        // A move is counted right after the write that records it; the counters may lag the status by a moment, never lead it.
        using var http = new HttpClient();
        var metrics = "";
        await world.UntilAsync(async () =>
        {
            metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{world.Operator!.Port}/metrics"));
            return Total(metrics, "depin_failovers_total") >= failovers.Count && Total(metrics, "depin_failbacks_total") >= failbacks.Count;
        }, "the move counters catching up with the status", TimeSpan.FromSeconds(10));
        Assert.Equal(failovers.Count, Total(metrics, "depin_failovers_total"));
        Assert.Equal(failbacks.Count, Total(metrics, "depin_failbacks_total"));
    }

    [Fact]
    public async Task AKilledProvider_StaysUnhealthy_ThoughItsWorkloadStillAnswers_AndAHeartbeatFromBeforeIsRecent()
    {
        // Probe rounds every second, so that one comes while the last heartbeat before the kill is recent.
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0], Fleet[1]);
        var deployment = OperatorWorld.OneReplicaExample("dead");
        deployment.Spec.Sla!.Probe = new SlaProbe { TcpSocket = new TcpSocketProbe { Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 2 };
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);
        await world.WaitAsync("dead", d => d.Status?.Phase == DeploymentPhase.Running);
        var pod = Assert.Single(await ProviderPodsAsync(world, "dead"));
        var workload = new Uri($"http://127.0.0.1:{pod.Metadata.Annotations["depin.dev/host-ports"].Split('=')[1]}/");
        using var http = new HttpClient();
        Assert.Equal("ok", await Eventually.GetWhenListeningAsync(http, workload));

        // Only what the log says after the kill counts: on a busy machine the lease may have failed and
        // recovered before it (a heartbeat stream silent for a moment).
        var output = () => world.Operator!.Output;
        var killedAt = output().Length;
        await world.Fleet.Agents[0].KillAsync();
        const string Unhealthy = "with provider-a is Unhealthy";
        await world.UntilAsync(() => Task.FromResult(output().IndexOf(Unhealthy, killedAt, StringComparison.Ordinal) >= 0), "provider-a's lease unhealthy", TimeSpan.FromSeconds(30));

        // The workload outlives its agent and still answers, but a round must not count the heartbeat
        // from before the kill: watched for longer than that heartbeat could be thought recent.
        Assert.Equal("ok", await http.GetStringAsync(new Uri(workload, "healthz")));
        var watched = Stopwatch.StartNew();
        while (watched.Elapsed < TimeSpan.FromSeconds(4))
        {
            var log = output();
            var after = log[log.IndexOf(Unhealthy, killedAt, StringComparison.Ordinal)..];
            Assert.False(after.Contains("with provider-a is Healthy", StringComparison.Ordinal), $"provider-a's lease turned Healthy after its agent was killed; operator log:\n{log}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task StatusWritesLostAtTheFailoverAndTheFailback_HoldTheMoveBack_UntilOneIsRecorded()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0], Fleet[1]);
        var deployment = OperatorWorld.OneReplicaExample("lost");
        deployment.Spec.Fallback.Failback.StableSeconds = 0;
        await world.CreateAsync(deployment);
        await world.WaitAsync("lost", d => d.Status?.Phase == DeploymentPhase.Running);
        var faults = world.Server.Faults;
        const string Status = "depindeployments/lost/status";

        // Every status write that would record the failover conflicts: the replica goes to a cloud node,
        // but its pod on provider-a stays, for nothing may be moved before the failover is recorded.
        faults.FailNext(int.MaxValue, 409, "PATCH", Status, bodyContains: "lastFailover");
        await world.Fleet.Agents[0].KillAsync();
        await world.UntilAsync(async () => (await CloudPodsAsync(world, "lost")).Count > 0, "a cloud pod", TimeSpan.FromSeconds(30));
        await RefusedWritesAsync(world, 1);
        Assert.Equal("provider-a", Assert.Single(await ProviderPodsAsync(world, "lost")).Metadata.Labels["depin.dev/provider"]);
        faults.Clear();
        var failedOver = (await world.WaitAsync("lost", d => d.Status?.LastFailover?.Provider == "provider-a")).Status!;
        Assert.Contains(failedOver.FailedProviders!, f => f.Provider == "provider-a");

        // The re-auction leaves provider-a out. After the dwell time the cloud pod may go, but not while
        // the failback cannot be recorded.
        faults.FailNext(int.MaxValue, 409, "PATCH", Status, bodyContains: "lastFailback");
        await world.UntilAsync(async () => (await ProviderPodsAsync(world, "lost")).Any(p => Ready(p) && p.Metadata.Labels["depin.dev/provider"] == "provider-b"), "a Ready replica on provider-b", TimeSpan.FromSeconds(30));
        await RefusedWritesAsync(world, 1, TimeSpan.FromSeconds(60));
        if ((await CloudPodsAsync(world, "lost")).Count == 0)
        {
            Assert.Fail($"the cloud pod went although the failback could not be recorded; objects:\n{await world.DumpAsync()}");
        }

        faults.Clear();

        var back = (await world.WaitAsync("lost", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.FallbackReplicas == 0 && d.Status.LastFailback?.Time >= d.Status.LastFailover?.Time)).Status!;
        Assert.Equal("provider-b", back.Providers);
        Assert.Equal("provider-b", back.LastFailback!.Provider);
        Assert.Empty(await CloudPodsAsync(world, "lost"));

        // Each move is counted once, by the write that recorded it.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{world.Operator!.Port}/metrics"));
        if (Total(metrics, "depin_failovers_total") != 1 || Total(metrics, "depin_failbacks_total") != 1)
        {
            var counters = string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("depin_fail", StringComparison.Ordinal)));
            Assert.Fail($"each move must be counted once:\n{counters}\nobjects:\n{await world.DumpAsync()}\noperator log:\n{world.OperatorLog}");
        }
    }

    [Fact]
    public async Task ControlPlaneFaultsDuringAFailover_DelayIt_ButLoseNoReplica_AndOpenNoSecondLease()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.WebServiceExample("faulty");
        deployment.Spec.Replicas = 2;
        await world.CreateAsync(deployment);
        await world.WaitAsync("faulty", d => d.Status?.Phase == DeploymentPhase.Running);

        await world.Fleet.Agents[0].KillAsync();
        world.Server.Faults.FailNext(5, 503, "POST", "pods");
        world.Server.Faults.FailNext(5, 500, "PATCH");
        world.Server.Faults.FailNext(3, 429, "POST", "depinleases");
        world.Server.Faults.CloseAllWatches();
        world.Server.Faults.Latency = TimeSpan.FromMilliseconds(100);
        await world.UntilAsync(async () => (await CloudPodsAsync(world, "faulty")).Count > 0, "a cloud pod despite the faults", TimeSpan.FromSeconds(60));
        world.Server.Faults.Latency = TimeSpan.Zero;

        var back = await world.WaitAsync("faulty", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.FallbackReplicas == 0 && d.Status.LastFailback is not null, TimeSpan.FromSeconds(90));
        Assert.Equal(2, back.Status!.ReadyReplicas);
        Assert.True(world.Server.Faults.Injected > 0);
        var leases = await world.LeasesAsync();
        Assert.All(leases.Where(l => l.Metadata.DeletionTimestamp is null).GroupBy(l => l.Spec.OrderId), g => Assert.True(g.Select(l => l.Spec.Provider.Id).Distinct().Count() == g.Count()));
        Assert.Equal(2, leases.Count(l => l.Metadata.DeletionTimestamp is null));
        foreach (var agent in world.Fleet.Agents.Skip(1))
        {
            var held = System.Text.Json.Nodes.JsonNode.Parse(await agent.Http.GetStringAsync("v1/leases"))!.AsArray();
            Assert.True(held.Count <= 1, $"an agent holds {held.Count} leases of one deployment of two replicas spread one per provider");
        }
    }

    [AnvilFact]
    public async Task MarketplaceRpcFaultsDuringAFailover_DelayTheReauction_ButLoseNoReplica_AndOpenNoSecondLease()
    {
        await using var world = await OperatorWorld.StartEvmAsync(Fleet);
        var chain = world.Chain!;
        var rpc = world.Rpc!;
        var deployment = OperatorWorld.WebServiceExample("rpc", "depin-evm");
        deployment.Spec.Replicas = 2;
        deployment.Spec.Bidding.BidWindowSeconds = 2;
        deployment.Spec.Fallback.Failback.StableSeconds = 0;
        await world.CreateAsync(deployment);
        await world.WaitAsync("rpc", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.ReadyReplicas == 2, TimeSpan.FromSeconds(90));
        var victim = chain.Key(2).Address.ToString();
        var failed = Assert.Single(await world.LeasesAsync(), l => l.Spec.Provider.Address == victim);

        // The marketplace is unreachable when the provider dies: the replica goes to a cloud node all the same.
        rpc.Down = true;
        await world.Fleet.Agents[0].KillAsync();
        await world.UntilAsync(async () => (await CloudPodsAsync(world, "rpc")).Any(Ready), "a Ready cloud pod while the marketplace is down", TimeSpan.FromSeconds(30));

        // From here on two replicas are Ready, through the outage, the faults and the failback.
        var fewest = int.MaxValue;
        using var stop = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var pods = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=rpc")).Items;
                fewest = Math.Min(fewest, pods.Count(p => p.Metadata.DeletionTimestamp is null && Ready(p)));
                await Task.Delay(100);
            }
        });

        // The re-auction runs into the outage, then into errors, slow answers and transactions whose replies
        // are lost after the node took them. The replies to posting the order and to accepting its bid are
        // followed by outages longer than the client's retries: those calls fail although they happened.
        await world.UntilAsync(() => Task.FromResult(rpc.Injected >= 10), "the operator trying the marketplace during the outage", TimeSpan.FromSeconds(60));
        rpc.FailNext(4, HttpStatusCode.BadGateway);
        rpc.LoseRepliesToTransactions(2);
        rpc.LoseReplyThenGoDown(chain.Market.Abi.Function("createOrder").Selector.Span, TimeSpan.FromSeconds(15));
        rpc.LoseReplyThenGoDown(chain.Market.Abi.Function("accept").Selector.Span, TimeSpan.FromSeconds(15));
        rpc.Latency = TimeSpan.FromMilliseconds(50);
        rpc.Down = false;

        var back = await world.WaitAsync("rpc", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.FallbackReplicas == 0 && d.Status.LastFailback is not null && d.Status.ReadyReplicas == 2, TimeSpan.FromSeconds(180));
        await stop.CancelAsync();
        await sampling;
        Assert.True(fewest >= 2, $"Ready replicas dropped to {fewest} after the cloud pod was Ready");
        // Both named replies were lost, and one or two more: the closing of the failed lease loses its
        // reply, and whether a retry of it or another transaction loses the second depends on when the
        // outages fall (a retry that meets an outage gives up; the next attempt finds the lease closed).
        Assert.Equal(0, rpc.TargetsLeft);
        Assert.InRange(rpc.RepliesLost, 3, 4);
        Assert.DoesNotContain(victim, back.Status!.Decision!.Chosen!.Select(c => c.Provider));

        // On chain: the failed lease is closed, no order has more leased replicas than it asked for, and
        // none is left open (an order posted twice would be).
        Assert.True((await chain.Market.GetLeaseAsync(BigInteger.Parse(failed.Spec.LeaseId, CultureInfo.InvariantCulture))).Closed);
        var open = 0;
        for (var id = BigInteger.One; ; id++)
        {
            var order = await chain.Market.GetOrderAsync(id);
            if (order.State == MarketOrderState.None)
            {
                break;
            }

            var leases = await Task.WhenAll((await chain.Market.OrderLeasesAsync(id)).Select(l => chain.Market.GetLeaseAsync(l)));
            Assert.True(leases.Sum(l => l.Replicas) <= order.Replicas, $"order {id} asked for {order.Replicas} replicas and leased {leases.Sum(l => l.Replicas)}");
            Assert.True(order.State != MarketOrderState.Open, $"order {id} is still open, holding its deposit");
            open += leases.Count(l => !l.Closed);
        }

        Assert.Equal(2, open);
        Assert.Equal(2, (await world.LeasesAsync()).Count(l => l.Metadata.DeletionTimestamp is null));
    }

    private static double Total(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<(long Ok, long Failed)?> ReputationAsync(OperatorWorld world, string provider)
    {
        try
        {
            var map = await world.Kube.CoreV1.ReadNamespacedConfigMapAsync("depin-provider-reputation", "depin-system");
            var entry = System.Text.Json.Nodes.JsonNode.Parse(map.Data["providers.json"])?[provider];
            return entry is null ? null : ((long)entry["ok"]!, (long)entry["failed"]!);
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            return null;
        }
    }

    // Waits until this many more requests have been refused than when it was called.
    private static async Task RefusedWritesAsync(OperatorWorld world, int more, TimeSpan? timeout = null)
    {
        var before = world.Server.Faults.Injected;
        await world.UntilAsync(() => Task.FromResult(world.Server.Faults.Injected >= before + more), $"{more} more writes refused", timeout ?? TimeSpan.FromSeconds(30));
    }

    private static bool Ready(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static Task<List<V1Pod>> CloudPodsAsync(OperatorWorld world, string deployment) => PodsAsync(world, deployment, "fallback");

    private static Task<List<V1Pod>> ProviderPodsAsync(OperatorWorld world, string deployment) => PodsAsync(world, deployment, "provider");

    // The deployment's pods of one placement that are not being deleted.
    private static async Task<List<V1Pod>> PodsAsync(OperatorWorld world, string deployment, string placement) =>
        [.. (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"depin.dev/deployment={deployment},depin.dev/placement={placement}")).Items.Where(p => p.Metadata.DeletionTimestamp is null)];

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }
}
