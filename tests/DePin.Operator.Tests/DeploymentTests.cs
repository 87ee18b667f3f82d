using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>DePinDeployments end to end on a static fleet: LocalKube, three provider agents and the operator, each a process.</summary>
public sealed class DeploymentTests
{
    private static readonly TestProvider[] Fleet =
    [
        new("provider-a", "eu-west", "0.02"),
        new("provider-b", "eu-central", "0.03"),
        new("provider-c", "us-east", "0.04"),
    ];

    [Fact]
    public async Task TheWebServiceExample_RunsOnProviders_AndDeletingItLeavesNothing()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        await world.CreateAsync(OperatorWorld.WebServiceExample());
        var running = await world.WaitAsync("web", d => d.Status?.Phase == DeploymentPhase.Running);

        // maxReplicasPerProvider: 1 spreads the three replicas over the three providers, cheapest first.
        Assert.Equal(["provider-a", "provider-b", "provider-c"], running.Status!.Decision!.Chosen!.Select(c => c.Provider));
        Assert.All(running.Status.Decision.Chosen!, c => Assert.Equal(1, c.Replicas));
        Assert.Equal(AuctionOutcomeKind.Accepted, running.Status.Decision.Outcome);
        Assert.Equal(3, running.Status.ReadyReplicas);
        Assert.Equal(3, running.Status.DepinReplicas);
        Assert.Equal("provider-a,provider-b,provider-c", running.Status.Providers);
        Assert.Equal("0.0525", running.Status.PricePerHour); // 0.0125 + 0.0175 + 0.0225 per hour
        Assert.Contains(running.Status.Conditions!, c => c.Type == "Ready" && c.Status == "True");
        Assert.Contains(running.Status.Conditions!, c => c.Type == "Leased" && c.Status == "True");
        Assert.DoesNotContain(running.Status.Conditions!, c => c.Type is "Stalled" or "Reconciling");

        // Every pod runs on its lease's virtual node, and the workload answers through its provider.
        var pods = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=web")).Items;
        Assert.Equal(3, pods.Count);
        var nodes = (await world.Kube.CoreV1.ListNodeAsync(labelSelector: "type=virtual-kubelet")).Items;
        Assert.Equal(3, nodes.Count);
        Assert.All(nodes, n => Assert.Contains(n.Status.Conditions, c => c.Type == "Ready" && c.Status == "True"));
        Assert.All(nodes, n => Assert.Contains(n.Spec.Taints, t => t.Key == "virtual-kubelet.io/provider" && t.Effect == "NoSchedule"));
        Assert.Equal(pods.Select(p => p.Spec.NodeName).Order(), nodes.Select(n => n.Metadata.Name).Order());
        foreach (var pod in pods)
        {
            Assert.Equal("Running", pod.Status.Phase);
            Assert.False(pod.Spec.AutomountServiceAccountToken);
            var port = pod.Metadata.Annotations["depin.dev/host-ports"].Split('=')[1];
            using var http = new HttpClient();
            Assert.Equal("ok", await Eventually.GetWhenListeningAsync(http, new Uri($"http://{pod.Status.HostIP}:{port}/")));
            var lease = await world.Kube.CoordinationV1.ReadNamespacedLeaseAsync(pod.Spec.NodeName, "kube-node-lease");
            Assert.Equal(pod.Spec.NodeName, lease.Spec.HolderIdentity);
        }

        // kubectl shows the printer columns filled.
        var table = await world.KubectlAsync("get", "dpd,dpl,nodes,pods", "-n", "default");
        Assert.Matches(@"web\s+Running\s+provider-a,provider-b,provider-c\s+0\.0525\s+3\s+0", table);
        Assert.Contains("web-l", table, StringComparison.Ordinal);
        Assert.Contains("depin-depin-static-l", table, StringComparison.Ordinal);

        // Deleting closes the leases on the agents, removes the pods there, and removes the nodes.
        await world.DeleteAsync("web");
        await world.UntilAsync(async () => await world.GetAsync("web") is null, "deletion of the deployment");
        Assert.Empty((await world.Kube.CoreV1.ListNamespacedPodAsync("default")).Items);
        Assert.Empty((await world.Kube.CoreV1.ListNodeAsync(labelSelector: "type=virtual-kubelet")).Items);
        Assert.Empty(await world.LeasesAsync());
        foreach (var agent in world.Fleet.Agents)
        {
            var leases = await agent.Http.GetStringAsync("v1/leases");
            Assert.Equal("[]", JsonNode.Parse(leases)!.ToJsonString());
        }
    }

    [Fact]
    public async Task LeasesThatReachTheOperatorsCacheLate_AreNotAuctionedAgain()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);

        // The watch of DePinLeases lags: the second lease of the order reaches the operator 8 s after the first.
        world.Server.Faults.DelayWatch("depinleases", skip: 1, TimeSpan.FromSeconds(8));
        await world.CreateAsync(OperatorWorld.WebServiceExample("late"));
        var running = await world.WaitAsync("late", d => d.Status?.Phase == DeploymentPhase.Running, TimeSpan.FromSeconds(90));

        Assert.True(world.Server.Faults.Injected > 0, "the watch was not held back");
        Assert.True(running.Status!.Order!.Attempt == 1, $"a lease the cache had not shown yet was auctioned again: order attempt {running.Status.Order.Attempt}\noperator log:\n{world.OperatorLog}");
        var posted = (await world.Kube.CoreV1.ListNamespacedEventAsync("default")).Items.Where(e => e.Reason == "OrderPosted" && e.InvolvedObject.Name == "late").ToList();
        Assert.Single(posted);
        Assert.Equal(3, (await world.LeasesAsync()).Count);
    }

    [Fact]
    public async Task TheCheapestProviderTakesEveryReplica_UnlessPlacementRulesItOut_AndStatusSaysWhy()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var anywhere = OperatorWorld.WebServiceExample("anywhere");
        anywhere.Spec.Replicas = 2;
        anywhere.Spec.Placement.MaxReplicasPerProvider = null;
        var central = OperatorWorld.OneReplicaExample("central");
        central.Spec.Placement.Regions = ["eu-central", "us-east"];
        await world.CreateAsync(anywhere);
        await world.CreateAsync(central);

        var first = await world.WaitAsync("anywhere", d => d.Status?.Phase == DeploymentPhase.Running);
        Assert.Equal("provider-a", first.Status!.Providers);
        Assert.Equal(2, Assert.Single(first.Status.Decision!.Chosen!).Replicas);
        Assert.All(first.Status.Decision.Rejected!, r => Assert.Equal("NotNeeded", r.Reason));

        var second = await world.WaitAsync("central", d => d.Status?.Phase == DeploymentPhase.Running);
        Assert.Equal("provider-b", second.Status!.Providers);
        var cheapest = Assert.Single(second.Status.Decision!.Rejected!, r => r.Provider == "provider-a");
        Assert.Equal("RegionNotAllowed", cheapest.Reason);
        Assert.Contains("eu-west", cheapest.Message, StringComparison.Ordinal);
        Assert.Equal("0.0125", cheapest.PricePerHour);
        var pods = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"depin.dev/deployment=central")).Items;
        Assert.Equal("provider-b", Assert.Single(pods).Metadata.Labels["depin.dev/provider"]);
    }

    [Fact]
    public async Task WithNoAcceptableBid_TheDeploymentWaits_SayingWhy_AndLeasesOnceTheSpecAllows()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.WebServiceExample("nowhere");
        deployment.Spec.Replicas = 1;
        deployment.Spec.Placement.Regions = ["ap-south"];
        await world.CreateAsync(deployment);

        var pending = await world.WaitAsync("nowhere", d => d.Status?.Decision?.Outcome == AuctionOutcomeKind.NoAcceptableBid);
        Assert.Equal(DeploymentPhase.Pending, pending.Status!.Phase);
        var leased = Assert.Single(pending.Status.Conditions!, c => c.Type == "Leased");
        Assert.Equal(("False", "NoAcceptableBid"), (leased.Status, leased.Reason));
        Assert.Contains("0 of 1 replicas could be placed; the cheapest rejected bid, 0.0125 per hour from provider-a, was rejected: RegionNotAllowed", leased.Message, StringComparison.Ordinal);
        Assert.Equal(3, pending.Status.Decision!.Rejected!.Count(r => r.Reason == "RegionNotAllowed"));
        Assert.Empty(await world.LeasesAsync());

        // A bid above the ceiling is never made: agents do not quote it.
        await world.Kube.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"placement":{"regions":["eu-west"]},"bidding":{"maxPricePerHour":"0.01"}}}""", V1Patch.PatchType.MergePatch), "depin.dev", "v1alpha1", "default", "depindeployments", "nowhere");
        var unquoted = await world.WaitAsync("nowhere", d => d.Status?.Order?.Attempt == 2 && d.Status.Decision?.OrderId == d.Status.Order.Id);
        Assert.StartsWith("no bids were received", unquoted.Status!.Decision!.Message, StringComparison.Ordinal);

        // Changing the spec starts a new round at once, without waiting out the backoff.
        await world.Kube.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"bidding":{"maxPricePerHour":"0.02"}}}""", V1Patch.PatchType.MergePatch), "depin.dev", "v1alpha1", "default", "depindeployments", "nowhere");
        var running = await world.WaitAsync("nowhere", d => d.Status?.Phase == DeploymentPhase.Running);
        Assert.Equal("provider-a", running.Status!.Providers);
        Assert.Equal(3, running.Status.Order!.Attempt);
    }

    [Theory]
    [InlineData("secret-env", "SecretsNotAllowed", "spec.template.spec.containers[0].env[1] (TOKEN).valueFrom.secretKeyRef")]
    [InlineData("reserved-label", "ReservedLabel", "spec.template.metadata.labels: depin.dev/slot")]
    [InlineData("probe", "InvalidSpec", "spec.sla.probe.timeoutSeconds (3) must not exceed periodSeconds (2)")]
    [InlineData("precision", "InvalidAmount", "spec.bidding.maxPricePerHour: \"0.0000001\" has more than 6 decimal places")]
    [InlineData("config-volume", "UnsupportedVolume", "spec.template.spec.volumes[0] (config)")]
    public async Task AnInvalidSpec_EndsStalled_NamingTheField_AndPostsNoOrder(string variant, string reason, string field)
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0]);
        var deployment = OperatorWorld.WebServiceExample("invalid");
        var container = deployment.Spec.Template.Spec.Containers[0];
        switch (variant)
        {
            case "secret-env":
                container.Env = [new V1EnvVar { Name = "PLAIN", Value = "x" }, new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Key = "token", Name = "api" } } }];
                break;
            case "reserved-label":
                deployment.Spec.Template.Metadata.Labels["depin.dev/slot"] = "7";
                break;
            case "probe":
                deployment.Spec.Sla!.Probe!.TimeoutSeconds = 3;
                break;
            case "precision":
                deployment.Spec.Bidding.MaxPricePerHour = "0.0000001";
                break;
            case "config-volume":
                deployment.Spec.Template.Spec.Volumes = [new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = "settings" } }];
                break;
        }

        await world.CreateAsync(deployment);
        var stalled = await world.WaitAsync("invalid", d => d.Status?.Conditions?.Any(c => c.Type == "Stalled") == true);
        var condition = Assert.Single(stalled.Status!.Conditions!, c => c.Type == "Stalled");
        Assert.Equal(("True", reason), (condition.Status, condition.Reason));
        Assert.StartsWith(field, condition.Message, StringComparison.Ordinal);
        Assert.Equal(DeploymentPhase.Failed, stalled.Status.Phase);
        Assert.Null(stalled.Status.Order);
        Assert.Contains(stalled.Status.Conditions!, c => c.Type == "Ready" && c.Status == "False");
        Assert.DoesNotContain(stalled.Status.Conditions!, c => c.Type == "Reconciling");
    }

    [Fact]
    public async Task ConfigMapsAreResolved_ScalingFollowsReplicas_AndTemplateChangesRollOnePodAtATime()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        await world.Kube.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "settings" }, Data = new Dictionary<string, string> { ["greeting"] = "from-a-configmap" } }, "default");
        var deployment = OperatorWorld.WebServiceExample("rolling");
        deployment.Spec.Replicas = 2;
        deployment.Spec.Placement.MaxReplicasPerProvider = 1;
        var container = deployment.Spec.Template.Spec.Containers[0];
        container.Env =
        [
            new V1EnvVar { Name = "GREETING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Key = "greeting", Name = "settings" } } },
            new V1EnvVar { Name = "POD", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
        ];
        await world.CreateAsync(deployment);
        await world.WaitAsync("rolling", d => d.Status?.Phase == DeploymentPhase.Running);
        using var http = new HttpClient();
        foreach (var pod in (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=rolling")).Items)
        {
            var port = pod.Metadata.Annotations["depin.dev/host-ports"].Split('=')[1];
            Assert.Equal("from-a-configmap", await Eventually.GetWhenListeningAsync(http, new Uri($"http://127.0.0.1:{port}/env/GREETING")));
            Assert.Equal(pod.Metadata.Name, await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/env/POD")));
        }

        // A template change replaces the pods one at a time: never fewer than one Ready.
        var before = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=rolling")).Items.Select(p => p.Metadata.Name).ToHashSet();
        await world.Kube.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"template":{"metadata":{"annotations":{"revision":"2"}}}}}""", V1Patch.PatchType.MergePatch), "depin.dev", "v1alpha1", "default", "depindeployments", "rolling");
        var fewestReady = int.MaxValue;
        await world.UntilAsync(async () =>
        {
            var pods = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=rolling")).Items;
            fewestReady = Math.Min(fewestReady, pods.Count(p => p.Metadata.DeletionTimestamp is null && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true));
            return pods.Count == 2 && pods.All(p => !before.Contains(p.Metadata.Name) && p.Metadata.Annotations?.ContainsKey("revision") == true && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
        }, "the rolling update");
        Assert.True(fewestReady >= 1, $"the rolling update left {fewestReady} pods Ready");

        // Scaling up auctions the missing replica; scaling down releases a whole lease.
        await world.KubectlAsync("scale", "dpd/rolling", "--replicas=3");
        await world.WaitAsync("rolling", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.ReadyReplicas == 3 && d.Status.Leases!.Count(l => l.State == LeaseState.Active) == 3);
        await world.KubectlAsync("scale", "dpd/rolling", "--replicas=1");
        var one = await world.WaitAsync("rolling", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.Replicas == 1 && d.Status.Leases!.Count(l => l.State != LeaseState.Closed) == 1);
        Assert.Equal(2, one.Status!.Leases!.Count(l => l.State == LeaseState.Closed));
        Assert.Single(await world.LeasesAsync());
    }

    [Fact]
    public async Task APodThatVanishesOnEitherSide_IsMadeAgain()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet[0]);
        var deployment = OperatorWorld.OneReplicaExample("phoenix");

        // The pod sent again starts from nothing; on a busy machine the gap until its workload listens may
        // outlast many probe rounds. The SLA is not what this test is about: it tolerates all it can.
        deployment.Spec.Sla!.Probe!.FailureThreshold = 100;
        await world.CreateAsync(deployment);
        await world.WaitAsync("phoenix", d => d.Status?.Phase == DeploymentPhase.Running);
        var agent = world.Fleet.Agents[0];
        var lease = Assert.Single(await world.LeasesAsync()).Spec.LeaseId;
        var pod = Assert.Single((await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=phoenix")).Items);

        // Gone on the provider (its host rebooted, say): sent again, under the same name.
        var first = await agent.SendAsync(HttpMethod.Get, $"v1/leases/{lease}/pods/{pod.Metadata.Name}");
        await agent.SendAsync(HttpMethod.Delete, $"v1/leases/{lease}/pods/{pod.Metadata.Name}");
        await world.UntilAsync(async () =>
        {
            var list = JsonNode.Parse(await agent.Http.GetStringAsync($"v1/leases/{lease}/pods"))!["items"]!.AsArray();
            return list.Count == 1 && (string?)list[0]!["metadata"]!["uid"] != (string?)first["metadata"]!["uid"] && (string?)list[0]!["status"]!["phase"] == "Running";
        }, "the pod sent again", TimeSpan.FromSeconds(60));

        // Gone from the cluster, with no grace period: the deployment makes it again, and the provider runs one pod, not two.
        await world.Kube.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", new V1DeleteOptions { GracePeriodSeconds = 0 });
        V1Pod? again = null;
        await world.UntilAsync(async () =>
        {
            again = (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: "depin.dev/deployment=phoenix")).Items.SingleOrDefault(p => p.Metadata.Uid != pod.Metadata.Uid);
            var remotes = JsonNode.Parse(await agent.Http.GetStringAsync($"v1/leases/{lease}/pods"))!["items"]!.AsArray();
            return again?.Status?.Phase == "Running" && remotes.Count == 1 && (string?)remotes[0]!["metadata"]!["labels"]!["depin.dev/pod-uid"] == again.Metadata.Uid && (string?)remotes[0]!["status"]!["phase"] == "Running";
        }, "a new pod in the cluster, backed by a new pod at the provider");
        await world.WaitAsync("phoenix", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.ReadyReplicas == 1);
    }
}
