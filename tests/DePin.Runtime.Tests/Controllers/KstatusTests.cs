using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using k8s.Models;

namespace DePin.Runtime.Tests.Controllers;

public sealed class KstatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Lifecycle_ReconcilingThenStalledThenReady_KeepsTheThreeConsistent()
    {
        var conditions = new List<V1Condition>();

        Kstatus.SetReconciling(conditions, "Bidding", "collecting bids", 1, T0);
        Assert.Equal(["Reconciling=True", "Ready=False"], Summary(conditions));

        Kstatus.SetStalled(conditions, "InvalidSpec", "spec.bidding.budget: below one hour of the ceiling", 1, T0);
        Assert.Equal(["Ready=False", "Stalled=True"], Summary(conditions));

        Kstatus.SetReady(conditions, "Running", "all replicas run", 2, T0);
        Assert.Equal(["Ready=True"], Summary(conditions));
        Assert.False(Kstatus.SetReady(conditions, "Running", "all replicas run", 2, T0.AddMinutes(1)));
    }

    [Fact]
    public void NodeNameIndex_FindsPodsOfANode()
    {
        var cache = new InformerCache<V1Pod>().AddNodeNameIndex();
        cache.Upsert(new V1Pod { Metadata = new() { Name = "a", NamespaceProperty = "default" }, Spec = new() { NodeName = "depin-1" } });
        cache.Upsert(new V1Pod { Metadata = new() { Name = "b", NamespaceProperty = "default" }, Spec = new() });

        Assert.Equal(["a"], cache.ByIndex(PodIndexes.NodeName, "depin-1").Select(p => p.Metadata.Name));
        Assert.Equal(["b"], cache.ByIndex(PodIndexes.NodeName, "").Select(p => p.Metadata.Name));
    }

    private static IEnumerable<string> Summary(List<V1Condition> conditions) => conditions.Select(c => $"{c.Type}={c.Status}");
}
