using System.Collections.Concurrent;
using DePin.Api.V1Alpha1;
using DePin.Runtime.Informers;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Runtime.Tests.Informers;

public sealed class InformerTests : LocalKubeTest
{

    [Fact]
    public async Task Run_ListsThenWatches_CacheFollowsTheServer()
    {
        await Kube.CreateAsync(KubeFixture.Lease("before"));
        var informer = new Informer<DePinLease>(ResourceApi.Custom<DePinLease>(Kube.Client), Options());
        var changes = new ConcurrentQueue<(ChangeKind, string)>();
        informer.Subscribe(c => changes.Enqueue((c.Kind, c.Item.Metadata.Name)));
        var run = informer.RunAsync(Stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));

        var after = await Kube.CreateAsync(KubeFixture.Lease("after"));
        after.Spec.Replicas = 2;
        await Kube.ReplaceAsync(after);
        await Kube.DeleteAsync(after);
        await Eventually.UntilAsync(() => changes.Count >= 4);

        Assert.Equal([(ChangeKind.Added, "before"), (ChangeKind.Added, "after"), (ChangeKind.Updated, "after"), (ChangeKind.Deleted, "after")], changes);
        Assert.Equal(["default/before"], informer.Cache.List().Select(ObjectKey.Of));
        await Stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_WatchesClosedEverySecondForAMinute_CacheEndsIdentical_EveryChangeSeen()
    {
        var informer = new Informer<DePinLease>(ResourceApi.Custom<DePinLease>(Kube.Client), Options());
        var seen = new ConcurrentDictionary<string, byte>();
        informer.Subscribe(c => seen[$"{c.Item.Metadata.Name}@{c.Item.Metadata.ResourceVersion}"] = 0);
        var run = informer.RunAsync(Stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));

        var written = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var closer = new Timer(_ => Kube.Server.Faults.CloseAllWatches(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var live = new Dictionary<string, DePinLease>();
        var random = new Random(7);
        var created = 0;
        while (clock.Elapsed < TimeSpan.FromMinutes(1) || created < 1000)
        {
            if (created < 1000 && (live.Count < 50 || random.Next(3) == 0))
            {
                var lease = await Kube.CreateAsync(KubeFixture.Lease($"soak-{created++}"));
                live[lease.Metadata.Name] = lease;
                written.Add($"{lease.Metadata.Name}@{lease.Metadata.ResourceVersion}");
            }
            else if (live.Count > 0 && random.Next(2) == 0)
            {
                var lease = live.Values.ElementAt(random.Next(live.Count));
                lease.Spec.Replicas = random.Next(1, 10);
                lease = await Kube.ReplaceAsync(lease);
                live[lease.Metadata.Name] = lease;
                written.Add($"{lease.Metadata.Name}@{lease.Metadata.ResourceVersion}");
            }
            else if (live.Count > 0)
            {
                var lease = live.Values.ElementAt(random.Next(live.Count));
                live.Remove(lease.Metadata.Name);
                written.Add($"{lease.Metadata.Name}@{await Kube.DeleteAsync(lease)}");
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(1) && created < 1000)
            {
                // The machine was slow: finish creating without waiting on the clock.
                continue;
            }

            await Task.Delay(random.Next(0, 60));
        }

        var server = await Kube.ListAsync();
        await Eventually.UntilAsync(() => written.All(seen.ContainsKey) && Same(informer.Cache.List(), server), TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(written, w => !seen.ContainsKey(w));
        Assert.True(Same(informer.Cache.List(), server));
        Assert.Equal(1000, created);
    }

    [Fact]
    public async Task Run_ResumeGets410_RelistsAndDeliversTheDeleteItMissed()
    {
        var doomed = await Kube.CreateAsync(KubeFixture.Lease("doomed"));
        var informer = new Informer<DePinLease>(ResourceApi.Custom<DePinLease>(Kube.Client), Options());
        var deleted = new TaskCompletionSource<string>();
        informer.Subscribe(c =>
        {
            if (c.Kind == ChangeKind.Deleted)
            {
                deleted.TrySetResult(c.Item.Metadata.Name);
            }
        });
        var run = informer.RunAsync(Stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));

        // The watch breaks and cannot come back for a while; the object goes meanwhile and history is compacted.
        Kube.Server.Faults.FailNext(3, 500, method: "GET", resource: "depinleases");
        Kube.Server.Faults.CloseAllWatches();
        await Kube.DeleteAsync(doomed);
        Kube.Server.Faults.Compact();

        Assert.Equal("doomed", await deleted.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Empty(informer.Cache.List());
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task Run_BuiltInType_FollowsTheServerAcrossAnExpiredResume()
    {
        var informer = new Informer<V1ConfigMap>(ResourceApi.ConfigMaps(Kube.Client), Options());
        var run = informer.RunAsync(Stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));

        await Kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "typed" } }, "default");
        await Eventually.UntilAsync(() => informer.Cache.Get("default/typed") is not null);
        Kube.Server.Faults.FailNext(2, 503, method: "GET", resource: "configmaps");
        Kube.Server.Faults.CloseAllWatches();
        await Kube.Client.CoreV1.DeleteNamespacedConfigMapAsync("typed", "default");
        await Kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "later" } }, "default");
        Kube.Server.Faults.Compact();

        await Eventually.UntilAsync(() => informer.Cache.Get("default/typed") is null && informer.Cache.Get("default/later") is not null);
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public void Cache_Indexes_ByNamespaceOwnerAndCustomKey()
    {
        var cache = new InformerCache<DePinLease>();
        cache.AddIndex("provider", l => [l.Spec.Provider.Id]);
        var a = KubeFixture.Lease("a", "ns1");
        a.Metadata.OwnerReferences = [new V1OwnerReference { Uid = "owner-1", Name = "web", Kind = "DePinDeployment", ApiVersion = "depin.dev/v1alpha1" }];
        var b = KubeFixture.Lease("b", "ns2");
        b.Spec.Provider.Id = "provider-b";

        cache.Upsert(a);
        cache.Upsert(b);

        Assert.Equal(["a"], cache.ByIndex(InformerCache<DePinLease>.NamespaceIndex, "ns1").Select(l => l.Metadata.Name));
        Assert.Equal(["a"], cache.ByIndex(InformerCache<DePinLease>.OwnerIndex, "owner-1").Select(l => l.Metadata.Name));
        Assert.Equal(["b"], cache.ByIndex("provider", "provider-b").Select(l => l.Metadata.Name));

        // Cached objects are never changed in place: an update is a new object.
        var moved = KubeFixture.Lease("b", "ns2");
        moved.Spec.Provider.Id = "provider-a";
        cache.Upsert(moved);
        cache.Remove("ns1/a");

        Assert.Empty(cache.ByIndex("provider", "provider-b"));
        Assert.Equal(["b"], cache.ByIndex("provider", "provider-a").Select(l => l.Metadata.Name));
        Assert.Empty(cache.ByIndex(InformerCache<DePinLease>.OwnerIndex, "owner-1"));
    }

    private static InformerOptions Options() => new()
    {
        Name = "depinleases",
        BaseBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(500),
        QuietTimeout = TimeSpan.FromSeconds(5),
    };

    private static bool Same(IReadOnlyList<DePinLease> cache, IReadOnlyList<DePinLease> server) =>
        cache.Select(l => $"{ObjectKey.Of(l)}@{l.Metadata.ResourceVersion}").Order(StringComparer.Ordinal)
            .SequenceEqual(server.Select(l => $"{ObjectKey.Of(l)}@{l.Metadata.ResourceVersion}").Order(StringComparer.Ordinal));
}
