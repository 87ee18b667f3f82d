using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace DePin.LocalKube.Tests;

[Collection(LocalKubeGroup.Name)]
public sealed class WatchTests(LocalKubeFixture kube)
{
    [Fact]
    public async Task Watch_ClosedRepeatedlyAndResumed_DeliversEveryChangeOnceInOrder()
    {
        const string ns = "watch-resume";
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } });
        var start = (await kube.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        const int changes = 100;
        var written = new List<long>();
        var seen = new List<long>();

        // Each iteration below makes exactly one change; the reader resumes from the last version it saw.
        var reader = Task.Run(async () =>
        {
            var from = start;
            var reconnects = 0;
            while (seen.Count < changes)
            {
                await using var watch = await WatchStream.OpenAsync(kube.Http, $"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={from}");
                while (seen.Count < changes && await watch.NextAsync(TimeSpan.FromSeconds(20)) is { } change)
                {
                    var rv = long.Parse((string)change.Object["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);
                    seen.Add(rv);
                    from = rv.ToString(CultureInfo.InvariantCulture);
                }

                reconnects++;
            }

            return reconnects;
        });

        for (var i = 0; i < changes; i++)
        {
            if (i % 7 == 0)
            {
                kube.Server.Faults.CloseAllWatches();
            }

            var name = $"cm-{i % 20}";
            var existing = (await kube.Client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: $"metadata.name={name}")).Items.SingleOrDefault();
            V1ConfigMap result;
            if (existing is null)
            {
                result = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = name }, Data = new Dictionary<string, string> { ["i"] = $"{i}" } }, ns);
            }
            else if (i % 3 == 0)
            {
                var (code, deleted) = await kube.SendAsync(HttpMethod.Delete, $"/api/v1/namespaces/{ns}/configmaps/{name}");
                Assert.Equal(200, code);
                written.Add(long.Parse((string)deleted!["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture));
                continue;
            }
            else
            {
                existing.Data = new Dictionary<string, string> { ["i"] = $"{i}" };
                result = await kube.Client.CoreV1.ReplaceNamespacedConfigMapAsync(existing, name, ns);
            }

            written.Add(long.Parse(result.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
        }

        var reconnects = await reader.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(reconnects > 10, $"only {reconnects} reconnects: the fault injection did not bite");
        Assert.Equal(written, seen);
    }

    [Fact]
    public async Task Watch_FromCompactedResourceVersion_Gets410Expired()
    {
        var old = (await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "compacted" } }, "default")).Metadata.ResourceVersion;
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "compacted-2" } }, "default");
        kube.Server.Faults.Compact();

        await using var watch = await WatchStream.OpenAsync(kube.Http, $"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={old}");
        var first = await watch.NextAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("ERROR", first!.Value.Type);
        Assert.Equal(410, (int)first.Value.Object["code"]!);
        Assert.Equal("Expired", (string?)first.Value.Object["reason"]);
        Assert.Null(await watch.NextAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Watch_WithBookmarks_DeliversBookmarkAtTheLatestVersion()
    {
        var rv = (await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "bookmarked" } }, "default")).Metadata.ResourceVersion;

        await using var watch = await WatchStream.OpenAsync(kube.Http, $"/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={rv}");
        var first = await watch.NextAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("BOOKMARK", first!.Value.Type);
        Assert.True(long.Parse((string)first.Value.Object["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture) >= long.Parse(rv, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Watch_WithoutResourceVersion_StartsWithAddedForExistingObjects()
    {
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "watch-initial" } });
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "a" } }, "watch-initial");
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "b" } }, "watch-initial");

        await using var watch = await WatchStream.OpenAsync(kube.Http, "/api/v1/namespaces/watch-initial/configmaps?watch=true");

        Assert.Equal(("ADDED", "a"), Summary(await watch.NextAsync(TimeSpan.FromSeconds(5))));
        Assert.Equal(("ADDED", "b"), Summary(await watch.NextAsync(TimeSpan.FromSeconds(5))));
    }

    [Fact]
    public async Task Watch_LabelSelector_ObjectLeavingTheSelectionArrivesAsDeleted()
    {
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "watch-labels" } });
        var rv = (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("watch-labels")).Metadata.ResourceVersion;
        await using var watch = await WatchStream.OpenAsync(kube.Http, $"/api/v1/namespaces/watch-labels/configmaps?watch=true&labelSelector=app%3Dweb&resourceVersion={rv}");

        var cm = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "moving", Labels = new Dictionary<string, string> { ["app"] = "web" } } }, "watch-labels");
        cm.Metadata.Labels["app"] = "db";
        await kube.Client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "moving", "watch-labels");
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "other", Labels = new Dictionary<string, string> { ["app"] = "web" } } }, "watch-labels");

        Assert.Equal(("ADDED", "moving"), Summary(await watch.NextAsync(TimeSpan.FromSeconds(5))));
        Assert.Equal(("DELETED", "moving"), Summary(await watch.NextAsync(TimeSpan.FromSeconds(5))));
        Assert.Equal(("ADDED", "other"), Summary(await watch.NextAsync(TimeSpan.FromSeconds(5))));
    }

    [Fact]
    public async Task Watch_ThroughKubernetesClient_DeliversTypedEvents()
    {
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "watch-client" } });
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var rv = (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("watch-client")).Metadata.ResourceVersion;
        var reading = Task.Run(async () =>
        {
            var events = new List<(WatchEventType, string)>();
            await foreach (var (type, item) in kube.Client.CoreV1.WatchListNamespacedConfigMapAsync("watch-client", resourceVersion: rv, cancellationToken: stop.Token))
            {
                events.Add((type, item.Metadata.Name));
                if (events.Count == 3)
                {
                    break;
                }
            }

            return events;
        });

        var cm = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "typed" } }, "watch-client");
        cm.Data = new Dictionary<string, string> { ["k"] = "v" };
        await kube.Client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "typed", "watch-client");
        await kube.SendAsync(HttpMethod.Delete, "/api/v1/namespaces/watch-client/configmaps/typed");
        var events = await reading;

        Assert.Equal([(WatchEventType.Added, "typed"), (WatchEventType.Modified, "typed"), (WatchEventType.Deleted, "typed")], events);
    }

    private static (string, string) Summary((string Type, JsonObject Object)? change) =>
        (change!.Value.Type, (string)change.Value.Object["metadata"]!["name"]!);
}
