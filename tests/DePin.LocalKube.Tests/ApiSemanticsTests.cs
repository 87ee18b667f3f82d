using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.LocalKube.Tests;

[Collection(LocalKubeGroup.Name)]
public sealed class ApiSemanticsTests(LocalKubeFixture kube)
{
    private const string Dpd = "/apis/depin.dev/v1alpha1/namespaces/default/depindeployments";

    [Fact]
    public async Task Get_Missing_Returns404StatusWithReason()
    {
        var (code, body) = await kube.SendAsync(HttpMethod.Get, $"{Dpd}/does-not-exist");

        Assert.Equal(404, code);
        Assert.Equal("Status", (string?)body!["kind"]);
        Assert.Equal("NotFound", (string?)body["reason"]);
        Assert.Equal("depindeployments.depin.dev \"does-not-exist\" not found", (string?)body["message"]);
    }

    [Fact]
    public async Task Create_Twice_Returns409AlreadyExists()
    {
        Assert.Equal(201, (await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("twice"))).Code);

        var (code, body) = await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("twice"));

        Assert.Equal(409, code);
        Assert.Equal("AlreadyExists", (string?)body!["reason"]);
    }

    [Fact]
    public async Task Create_SetsUidTimestampGenerationAndDefaults_DropsStatus()
    {
        var obj = LocalKubeFixture.WebService("fresh");
        obj["status"] = new JsonObject { ["phase"] = "Running" };

        var (code, body) = await kube.SendAsync(HttpMethod.Post, Dpd, obj);

        Assert.Equal(201, code);
        Assert.False(string.IsNullOrEmpty((string?)body!["metadata"]!["uid"]));
        Assert.NotNull(body["metadata"]!["creationTimestamp"]);
        Assert.Equal(1, (long)body["metadata"]!["generation"]!);
        Assert.Null(body["status"]);
        Assert.False((bool)body["spec"]!["placement"]!["allowSecrets"]!);
        Assert.Equal(24, (int)body["spec"]!["bidding"]!["leaseHours"]!);
    }

    [Fact]
    public async Task Update_StaleResourceVersion_Returns409Conflict()
    {
        var (_, created) = await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("stale"));
        var first = created!.DeepClone();
        first["spec"]!["replicas"] = 4;
        Assert.Equal(200, (await kube.SendAsync(HttpMethod.Put, $"{Dpd}/stale", first)).Code);

        var second = created.DeepClone();
        second["spec"]!["replicas"] = 5;
        var (code, body) = await kube.SendAsync(HttpMethod.Put, $"{Dpd}/stale", second);

        Assert.Equal(409, code);
        Assert.Equal("Conflict", (string?)body!["reason"]);
    }

    [Fact]
    public async Task Update_SpecChange_BumpsGeneration_StatusWriteDoesNot()
    {
        var (_, created) = await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("gen"));
        var rv = (string?)created!["metadata"]!["resourceVersion"];

        var withStatus = created.DeepClone();
        withStatus["status"] = new JsonObject { ["phase"] = "Running" };
        var (_, afterMainPut) = await kube.SendAsync(HttpMethod.Put, $"{Dpd}/gen", withStatus);
        Assert.Null(afterMainPut!["status"]);
        Assert.Equal(rv, (string?)afterMainPut["metadata"]!["resourceVersion"]);

        var (statusCode, afterStatus) = await kube.SendAsync(HttpMethod.Put, $"{Dpd}/gen/status", withStatus);
        Assert.Equal(200, statusCode);
        Assert.Equal("Running", (string?)afterStatus!["status"]!["phase"]);
        Assert.Equal(1, (long)afterStatus["metadata"]!["generation"]!);

        var (_, afterSpec) = await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/gen", new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 7 } }, "application/merge-patch+json");
        Assert.Equal(2, (long)afterSpec!["metadata"]!["generation"]!);
        Assert.Equal("Running", (string?)afterSpec["status"]!["phase"]);
    }

    [Fact]
    public async Task Delete_WithFinalizer_StaysUntilFinalizerRemoved()
    {
        var obj = LocalKubeFixture.WebService("held");
        obj["metadata"]!["finalizers"] = new JsonArray("depin.dev/cleanup");
        await kube.SendAsync(HttpMethod.Post, Dpd, obj);

        var (code, deleting) = await kube.SendAsync(HttpMethod.Delete, $"{Dpd}/held");
        Assert.Equal(202, code);
        Assert.NotNull(deleting!["metadata"]!["deletionTimestamp"]);

        var (addCode, _) = await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/held",
            new JsonObject { ["metadata"] = new JsonObject { ["finalizers"] = new JsonArray("depin.dev/cleanup", "other") } }, "application/merge-patch+json");
        Assert.Equal(422, addCode);

        await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/held", new JsonObject { ["metadata"] = new JsonObject { ["finalizers"] = null } }, "application/merge-patch+json");
        Assert.Equal(404, (await kube.SendAsync(HttpMethod.Get, $"{Dpd}/held")).Code);
    }

    [Fact]
    public async Task DeleteOwner_Background_RemovesDependents()
    {
        var owner = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "owner-bg" } }, "default");
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(Dependent("dep-bg", owner), "default");

        await kube.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner-bg", "default");

        var e = await Assert.ThrowsAsync<HttpOperationException>(() => kube.Client.CoreV1.ReadNamespacedConfigMapAsync("dep-bg", "default"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task DeleteOwner_Foreground_OwnerStaysWhileADependentIsHeld()
    {
        var owner = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "owner-fg" } }, "default");
        var dependent = Dependent("dep-fg", owner);
        dependent.Metadata.Finalizers = ["test/hold"];
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(dependent, "default");

        await kube.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner-fg", "default", new V1DeleteOptions { PropagationPolicy = "Foreground" });

        var held = await kube.Client.CoreV1.ReadNamespacedConfigMapAsync("owner-fg", "default");
        Assert.NotNull(held.Metadata.DeletionTimestamp);
        Assert.Contains("foregroundDeletion", held.Metadata.Finalizers);
        Assert.NotNull((await kube.Client.CoreV1.ReadNamespacedConfigMapAsync("dep-fg", "default")).Metadata.DeletionTimestamp);

        await kube.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "dep-fg", "default");

        var list = await kube.Client.CoreV1.ListNamespacedConfigMapAsync("default");
        Assert.DoesNotContain(list.Items, c => c.Metadata.Name is "owner-fg" or "dep-fg");
    }

    [Fact]
    public async Task DeleteOwner_Orphan_KeepsDependentsWithoutOwnerReference()
    {
        var owner = await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "owner-or" } }, "default");
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(Dependent("dep-or", owner), "default");

        await kube.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner-or", "default", new V1DeleteOptions { PropagationPolicy = "Orphan" });

        var orphan = await kube.Client.CoreV1.ReadNamespacedConfigMapAsync("dep-or", "default");
        Assert.True(orphan.Metadata.OwnerReferences is null or { Count: 0 });
    }

    [Fact]
    public async Task DeleteNamespace_RemovesContents_RefusesNewObjects()
    {
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "doomed" } });
        var held = new V1ConfigMap { Metadata = new() { Name = "held", Finalizers = ["test/hold"] } };
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(held, "doomed");
        await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "free" } }, "doomed");

        await kube.Client.CoreV1.DeleteNamespaceAsync("doomed");

        var ns = await kube.Client.CoreV1.ReadNamespaceAsync("doomed");
        Assert.Equal("Terminating", ns.Status.Phase);
        var names = (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("doomed")).Items.Select(c => c.Metadata.Name);
        Assert.Equal(["held"], names);
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() =>
            kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "late" } }, "doomed"));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Response.StatusCode);

        await kube.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "held", "doomed");

        var gone = await Assert.ThrowsAsync<HttpOperationException>(() => kube.Client.CoreV1.ReadNamespaceAsync("doomed"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.Response.StatusCode);
    }

    [Fact]
    public async Task List_LabelAndFieldSelectorsAndPaging_SelectTheRightObjects()
    {
        await kube.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = "sel" } });
        for (var i = 0; i < 5; i++)
        {
            await kube.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
            {
                Metadata = new() { Name = $"cm-{i}", Labels = new Dictionary<string, string> { ["tier"] = i % 2 == 0 ? "even" : "odd", ["n"] = $"{i}" } },
            }, "sel");
        }

        Assert.Equal(["cm-0", "cm-2", "cm-4"], (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", labelSelector: "tier=even")).Items.Select(c => c.Metadata.Name));
        Assert.Equal(["cm-1", "cm-3"], (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", labelSelector: "tier!=even")).Items.Select(c => c.Metadata.Name));
        Assert.Equal(["cm-1", "cm-4"], (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", labelSelector: "n in (1,4),tier")).Items.Select(c => c.Metadata.Name));
        Assert.Equal(["cm-0", "cm-1", "cm-2"], (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", labelSelector: "n notin (3,4)")).Items.Select(c => c.Metadata.Name));
        Assert.Empty((await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", labelSelector: "!n")).Items);
        Assert.Equal(["cm-3"], (await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", fieldSelector: "metadata.name=cm-3")).Items.Select(c => c.Metadata.Name));

        var first = await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", limit: 2);
        var second = await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", limit: 2, continueParameter: first.Metadata.ContinueProperty);
        var third = await kube.Client.CoreV1.ListNamespacedConfigMapAsync("sel", limit: 2, continueParameter: second.Metadata.ContinueProperty);
        Assert.Equal(["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"], first.Items.Concat(second.Items).Concat(third.Items).Select(c => c.Metadata.Name));
        Assert.Null(third.Metadata.ContinueProperty);

        var bad = await kube.SendAsync(HttpMethod.Get, "/api/v1/namespaces/sel/configmaps?fieldSelector=data.x%3Dy");
        Assert.Equal(400, bad.Code);
    }

    [Fact]
    public async Task PodFieldSelector_OnNodeNameAndPhase_Works()
    {
        await kube.Client.CoreV1.CreateNamespacedPodAsync(Pod("bound", "node-a"), "default");
        await kube.Client.CoreV1.CreateNamespacedPodAsync(Pod("unbound", null), "default");

        var onNode = await kube.Client.CoreV1.ListNamespacedPodAsync("default", fieldSelector: "spec.nodeName=node-a");
        var unscheduled = await kube.Client.CoreV1.ListNamespacedPodAsync("default", fieldSelector: "spec.nodeName=");

        Assert.Equal(["bound"], onNode.Items.Select(p => p.Metadata.Name));
        Assert.Contains(unscheduled.Items, p => p.Metadata.Name == "unbound");
        Assert.DoesNotContain(unscheduled.Items, p => p.Metadata.Name == "bound");
    }

    [Fact]
    public async Task StrategicMergePatch_Containers_MergeByName()
    {
        var pod = Pod("smp", null);
        pod.Spec.Containers.Add(new V1Container { Name = "sidecar", Image = "busybox:1" });
        await kube.Client.CoreV1.CreateNamespacedPodAsync(pod, "default");

        var patched = await kube.Client.CoreV1.PatchNamespacedPodAsync(
            new V1Patch("""{"spec":{"containers":[{"name":"sidecar","image":"busybox:2"}]}}""", V1Patch.PatchType.StrategicMergePatch), "smp", "default");

        Assert.Equal(["app:nginx:1", "sidecar:busybox:2"], patched.Spec.Containers.Select(c => $"{c.Name}:{c.Image}"));
    }

    [Fact]
    public async Task JsonPatch_TestAndReplace_AppliesOrFailsWhole()
    {
        await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("jp"));

        var (ok, body) = await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/jp", JsonNode.Parse("""[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":2}]"""), "application/json-patch+json");
        var (failed, _) = await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/jp", JsonNode.Parse("""[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":9}]"""), "application/json-patch+json");

        Assert.Equal(200, ok);
        Assert.Equal(2, (int)body!["spec"]!["replicas"]!);
        Assert.Equal(422, failed);
    }

    [Fact]
    public async Task Scale_GetAndPatch_ReadsAndWritesSpecReplicas()
    {
        await kube.SendAsync(HttpMethod.Post, Dpd, LocalKubeFixture.WebService("scaled"));

        var (code, scale) = await kube.SendAsync(HttpMethod.Patch, $"{Dpd}/scaled/scale", JsonNode.Parse("""{"spec":{"replicas":6}}"""), "application/merge-patch+json");
        var (_, obj) = await kube.SendAsync(HttpMethod.Get, $"{Dpd}/scaled");

        Assert.Equal(200, code);
        Assert.Equal("Scale", (string?)scale!["kind"]);
        Assert.Equal(6, (int)scale["spec"]!["replicas"]!);
        Assert.Equal(6, (int)obj!["spec"]!["replicas"]!);
    }

    [Fact]
    public async Task DeleteCrd_RemovesItsObjects_AndStopsServingThem()
    {
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(DePin.Testing.RepositoryPaths.Of("crds", "depin.dev_depindeployments.yaml")));
        crd.Metadata.Name = "widgets.example.test";
        crd.Spec.Group = "example.test";
        crd.Spec.Names = new V1CustomResourceDefinitionNames { Kind = "Widget", Plural = "widgets", Singular = "widget", ListKind = "WidgetList" };
        await kube.Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        var widget = LocalKubeFixture.WebService("w1");
        widget["apiVersion"] = "example.test/v1alpha1";
        widget["kind"] = "Widget";
        Assert.Equal(201, (await kube.SendAsync(HttpMethod.Post, "/apis/example.test/v1alpha1/namespaces/default/widgets", widget)).Code);

        await kube.Client.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("widgets.example.test");

        Assert.Equal(404, (await kube.SendAsync(HttpMethod.Get, "/apis/example.test/v1alpha1/namespaces/default/widgets")).Code);
    }

    private static V1ConfigMap Dependent(string name, V1ConfigMap owner) => new()
    {
        Metadata = new()
        {
            Name = name,
            OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = true }],
        },
    };

    private static V1Pod Pod(string name, string? node) => new()
    {
        Metadata = new() { Name = name },
        Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = "app", Image = "nginx:1" }] },
    };
}
