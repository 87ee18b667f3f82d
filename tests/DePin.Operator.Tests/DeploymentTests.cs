using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
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
            Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://{pod.Status.HostIP}:{port}/")));
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
}
