using DePin.LocalKube.Simulation;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.LocalKube.Tests;

public sealed class CloudNodesTests : IAsyncLifetime
{
    private LocalKubeServer _server = null!;
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync(new ServerOptions
        {
            CloudNodes = new CloudNodeOptions { Count = 3, Cpu = "8", Memory = "16Gi", StartDelay = TimeSpan.FromMilliseconds(50) },
        });
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _server.Url.ToString() });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Start_CreatesReadyNodesWithCapacityLabelsAndLeases()
    {
        var nodes = await _client.CoreV1.ListNodeAsync();

        Assert.Equal(["cloud-0", "cloud-1", "cloud-2"], nodes.Items.Select(n => n.Metadata.Name));
        Assert.All(nodes.Items, n =>
        {
            Assert.Contains(n.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
            Assert.Equal("8", n.Status.Allocatable["cpu"].ToString());
            Assert.Equal("local-1", n.Metadata.Labels["topology.kubernetes.io/region"]);
        });
        Assert.Equal(3, (await _client.CoordinationV1.ListNamespacedLeaseAsync("kube-node-lease")).Items.Count);
    }

    [Fact]
    public async Task UnboundPod_IsBoundToASimulatedNode_AndBecomesRunningAndReady()
    {
        await _client.CoreV1.CreateNamespacedPodAsync(Pod("web", cpu: "1"), "default");

        var pod = await EventuallyAsync("web", p => p.Status?.Phase == "Running");

        Assert.StartsWith("cloud-", pod.Spec.NodeName, StringComparison.Ordinal);
        Assert.Contains(pod.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
        Assert.True(pod.Status.ContainerStatuses.Single().Ready);
        Assert.False(string.IsNullOrEmpty(pod.Status.PodIP));
    }

    [Fact]
    public async Task PodThatFitsNowhere_IsUnschedulableWithTheReason()
    {
        await _client.CoreV1.CreateNamespacedPodAsync(Pod("huge", cpu: "64"), "default");
        var selected = Pod("elsewhere", cpu: "1");
        selected.Spec.NodeSelector = new Dictionary<string, string> { ["topology.kubernetes.io/region"] = "eu-west-1" };
        await _client.CoreV1.CreateNamespacedPodAsync(selected, "default");

        var huge = await EventuallyAsync("huge", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true);
        var elsewhere = await EventuallyAsync("elsewhere", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true);

        Assert.Contains("Insufficient cpu", huge.Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);
        Assert.Contains("node affinity/selector", elsewhere.Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);
        Assert.Null(huge.Spec.NodeName);
    }

    [Fact]
    public async Task PendingPod_IsScheduledOnceCapacityIsFreed()
    {
        for (var i = 0; i < 3; i++)
        {
            await _client.CoreV1.CreateNamespacedPodAsync(Pod($"big-{i}", cpu: "6"), "default");
            await EventuallyAsync($"big-{i}", p => p.Status?.Phase == "Running");
        }

        await _client.CoreV1.CreateNamespacedPodAsync(Pod("waiting", cpu: "6"), "default");
        await EventuallyAsync("waiting", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true);

        await _client.CoreV1.DeleteNamespacedPodAsync("big-0", "default");

        var waiting = await EventuallyAsync("waiting", p => p.Status?.Phase == "Running");
        Assert.StartsWith("cloud-", waiting.Spec.NodeName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequiredNodeAffinity_AndTaints_DecideTheNode()
    {
        var node = await _client.CoreV1.ReadNodeAsync("cloud-2");
        node.Spec.Taints = [new V1Taint { Key = "dedicated", Value = "gpu", Effect = "NoSchedule" }];
        await _client.CoreV1.ReplaceNodeAsync(node, "cloud-2");

        var avoid = Pod("avoid", cpu: "1");
        avoid.Spec.Affinity = new V1Affinity
        {
            NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                {
                    NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = "kubernetes.io/hostname", OperatorProperty = "NotIn", Values = ["cloud-0", "cloud-1"] }] }],
                },
            },
        };
        await _client.CoreV1.CreateNamespacedPodAsync(avoid, "default");
        Assert.Contains("untolerated taint", (await EventuallyAsync("avoid", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true))
            .Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);

        var tolerant = Pod("tolerant", cpu: "1");
        tolerant.Spec.Affinity = avoid.Spec.Affinity;
        tolerant.Spec.Tolerations = [new V1Toleration { Key = "dedicated", OperatorProperty = "Equal", Value = "gpu", Effect = "NoSchedule" }];
        await _client.CoreV1.CreateNamespacedPodAsync(tolerant, "default");

        Assert.Equal("cloud-2", (await EventuallyAsync("tolerant", p => p.Status?.Phase == "Running")).Spec.NodeName);
    }

    [Fact]
    public async Task PodOnAnotherNode_IsLeftToItsOwnKubelet()
    {
        await _client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new() { Name = "depin-lease-1", Labels = new Dictionary<string, string> { ["type"] = "virtual-kubelet" } } });
        var remote = Pod("remote", cpu: "1");
        remote.Spec.NodeName = "depin-lease-1";
        await _client.CoreV1.CreateNamespacedPodAsync(remote, "default");
        await _client.CoreV1.CreateNamespacedPodAsync(Pod("marker", cpu: "1"), "default");

        // Once a pod created later runs, the simulator has had its chance at the remote one.
        await EventuallyAsync("marker", p => p.Status?.Phase == "Running");

        var pod = await _client.CoreV1.ReadNamespacedPodAsync("remote", "default");

        Assert.Null(pod.Status?.Phase);
        Assert.Equal("depin-lease-1", pod.Spec.NodeName);
    }

    [Fact]
    public async Task DeleteBoundPod_IsGraceful_ThenFinishedByTheSimulatedKubelet()
    {
        await _client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new() { Name = "elsewhere" } });
        var remote = Pod("graceful", cpu: "1");
        remote.Spec.NodeName = "elsewhere";
        await _client.CoreV1.CreateNamespacedPodAsync(remote, "default");
        await _client.CoreV1.CreateNamespacedPodAsync(Pod("simulated", cpu: "1"), "default");
        await EventuallyAsync("simulated", p => p.Status?.Phase == "Running");

        await _client.CoreV1.DeleteNamespacedPodAsync("graceful", "default");
        await _client.CoreV1.DeleteNamespacedPodAsync("simulated", "default");

        // No kubelet owns "elsewhere": the pod stays terminating until someone deletes it with grace 0.
        var terminating = await _client.CoreV1.ReadNamespacedPodAsync("graceful", "default");
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        await EventuallyGoneAsync("simulated");
        await _client.CoreV1.DeleteNamespacedPodAsync("graceful", "default", gracePeriodSeconds: 0);
        await EventuallyGoneAsync("graceful");
    }

    private static V1Pod Pod(string name, string cpu) => new()
    {
        Metadata = new() { Name = name },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "app", Image = "nginx:1", Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new("256Mi") } } }],
        },
    };

    private async Task<V1Pod> EventuallyAsync(string name, Func<V1Pod, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var pod = await _client.CoreV1.ReadNamespacedPodAsync(name, "default", cancellationToken: timeout.Token);
            if (condition(pod))
            {
                return pod;
            }

            await Task.Delay(20, timeout.Token);
        }
    }

    private Task EventuallyGoneAsync(string name) => Eventually.UntilAsync(async () =>
        (await _client.CoreV1.ListNamespacedPodAsync("default", fieldSelector: $"metadata.name={name}")).Items.Count == 0);
}
