using System.Text.Json.Nodes;
using DePin.Testing;
using k8s;

namespace DePin.LocalKube.Tests;

/// <summary>The real kubectl, with its default flags, against LocalKube and the project's CRDs.</summary>
[Collection(LocalKubeGroup.Name)]
public sealed class KubectlTests(LocalKubeFixture kube)
{
    [KubectlFact]
    public async Task ApplyExamples_GetDpd_ShowsThePrinterColumns()
    {
        await Ok("apply", "-f", RepositoryPaths.Of("crds", "examples", "web-service.yaml"));
        await Ok("apply", "-f", RepositoryPaths.Of("crds", "examples", "marketplace-static.yaml"));
        await Ok("apply", "-f", RepositoryPaths.Of("crds", "examples", "marketplace-evm.yaml"));
        await kube.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new() { Name = "ml" } });
        await Ok("apply", "-f", RepositoryPaths.Of("crds", "examples", "gpu-inference.yaml"));
        await kube.SendAsync(HttpMethod.Patch, "/apis/depin.dev/v1alpha1/namespaces/default/depindeployments/web/status",
            JsonNode.Parse("""{"status":{"phase":"Running","providers":"provider-ams","pricePerHour":"0.075","readyReplicas":3,"fallbackReplicas":0}}"""), "application/merge-patch+json");

        var table = await Ok("get", "dpd", "web");
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["NAME", "PHASE", "PROVIDER(S)", "PRICE/H", "READY", "FALLBACK", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["web", "Running", "provider-ams", "0.075", "3", "0"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..6]);
        Assert.Contains("llm-inference", await Ok("get", "depin", "-A"), StringComparison.Ordinal);
        Assert.Contains("depin-static", await Ok("get", "dpm"), StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task Scale_Dpd_ChangesSpecReplicas()
    {
        await Apply(Renamed("scale-me"));

        await Ok("scale", "dpd", "scale-me", "--replicas=3");
        await Ok("scale", "dpd", "scale-me", "--replicas=5");

        Assert.Equal("5", await Ok("get", "dpd", "scale-me", "-o", "jsonpath={.spec.replicas}"));
    }

    [KubectlFact]
    public async Task Wait_ForReady_ReturnsOnceTheConditionIsSet()
    {
        await Apply(Renamed("wait-me"));
        var waiting = Kubectl.RunAsync(kube.KubeconfigPath, null, "wait", "--for=condition=Ready", "dpd/wait-me", "--timeout=30s");
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "kubectl wait returned before the condition was set");

        await kube.SendAsync(HttpMethod.Patch, "/apis/depin.dev/v1alpha1/namespaces/default/depindeployments/wait-me/status",
            JsonNode.Parse("""{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Running","message":"all replicas run","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"""),
            "application/merge-patch+json");

        var (exit, output, error) = await waiting;
        Assert.True(exit == 0, error);
        Assert.Contains("condition met", output, StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task Delete_WithFinalizer_LeavesItTerminatingUntilTheFinalizerIsRemoved()
    {
        await Apply(Renamed("finalized"));
        await Ok("patch", "dpd", "finalized", "--type=merge", "-p", """{"metadata":{"finalizers":["depin.dev/cleanup"]}}""");

        await Ok("delete", "dpd", "finalized", "--wait=false");
        Assert.NotEmpty(await Ok("get", "dpd", "finalized", "-o", "jsonpath={.metadata.deletionTimestamp}"));

        await Ok("patch", "dpd", "finalized", "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""");
        var (exit, _, error) = await Kubectl.RunAsync(kube.KubeconfigPath, null, "get", "dpd", "finalized");
        Assert.NotEqual(0, exit);
        Assert.Contains("NotFound", error, StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task Explain_Bidding_PrintsTheFieldDocs()
    {
        var output = await Ok("explain", "dpd.spec.bidding");

        Assert.Contains("How the auction is run and what the workload may cost.", output, StringComparison.Ordinal);
        Assert.Contains("maxPricePerHour", output, StringComparison.Ordinal);
        Assert.Contains("-required-", output, StringComparison.Ordinal);
        Assert.Contains("Highest acceptable price per replica per hour", output, StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task Describe_Dpd_PrintsSpecAndStatus()
    {
        await Apply(Renamed("described"));

        var output = await Ok("describe", "dpd", "described");

        Assert.Contains("Max Price Per Hour:", output, StringComparison.Ordinal);
        Assert.Contains("Marketplace Ref:", output, StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task ApplyTwice_Unchanged_ThenChanged_ReportsEachOutcome()
    {
        Assert.Contains("created", await Apply(Renamed("reapplied")), StringComparison.Ordinal);
        Assert.Contains("unchanged", await Apply(Renamed("reapplied")), StringComparison.Ordinal);
        Assert.Contains("configured", await Apply(Renamed("reapplied").Replace("replicas: 3", "replicas: 2", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("2", await Ok("get", "dpd", "reapplied", "-o", "jsonpath={.spec.replicas}"));
    }

    [KubectlFact]
    public async Task ApplyServerSide_CreatesThenUpdates()
    {
        Assert.Contains("serverside-applied", await Ok(["apply", "--server-side", "-f", "-"], Renamed("ssa")), StringComparison.Ordinal);
        await Ok(["apply", "--server-side", "-f", "-"], Renamed("ssa").Replace("replicas: 3", "replicas: 4", StringComparison.Ordinal));

        Assert.Equal("4", await Ok("get", "dpd", "ssa", "-o", "jsonpath={.spec.replicas}"));
        Assert.Equal("2", await Ok("get", "dpd", "ssa", "-o", "jsonpath={.spec.sla.probe.failureThreshold}"));
    }

    [KubectlFact]
    public async Task Generators_SendProtobuf_AndTheObjectsAreStoredWhole()
    {
        await Ok("create", "namespace", "generated");
        await Ok("-n", "generated", "create", "secret", "generic", "token", "--from-literal=token=s3cr3t", "--type=Opaque");
        await Ok("-n", "generated", "create", "configmap", "settings", "--from-literal=greeting=hello", "--from-literal=colour=blue");
        await Ok("-n", "generated", "create", "serviceaccount", "robot");
        await Ok("-n", "generated", "label", "secret", "token", "tier=gold");

        Assert.Equal("Active", await Ok("get", "namespace", "generated", "-o", "jsonpath={.status.phase}"));
        Assert.Equal("s3cr3t", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(await Ok("-n", "generated", "get", "secret", "token", "-o", "jsonpath={.data.token}"))));
        Assert.Equal("Opaque gold", await Ok("-n", "generated", "get", "secret", "token", "-o", "jsonpath={.type} {.metadata.labels.tier}"));
        Assert.Equal("hello blue", await Ok("-n", "generated", "get", "configmap", "settings", "-o", "jsonpath={.data.greeting} {.data.colour}"));
        Assert.Equal("robot", await Ok("-n", "generated", "get", "serviceaccount", "robot", "-o", "jsonpath={.metadata.name}"));

        // Delete sends its options as protobuf too.
        await Ok("-n", "generated", "delete", "secret", "token", "--grace-period=0");
        var (exit, _, error) = await Kubectl.RunAsync(kube.KubeconfigPath, null, "-n", "generated", "get", "secret", "token");
        Assert.NotEqual(0, exit);
        Assert.Contains("NotFound", error, StringComparison.Ordinal);

        // A kind the decoder does not know is refused, naming what it does understand.
        (exit, _, error) = await Kubectl.RunAsync(kube.KubeconfigPath, null, "-n", "generated", "create", "deployment", "web", "--image=nginx");
        Assert.NotEqual(0, exit);
        Assert.Contains("LocalKube decodes protobuf bodies of v1/Secret", error, StringComparison.Ordinal);
        Assert.Contains("not apps/v1/Deployment", error, StringComparison.Ordinal);
    }

    private static string Renamed(string name) =>
        File.ReadAllText(RepositoryPaths.Of("crds", "examples", "web-service.yaml")).Replace("name: web\n", $"name: {name}\n", StringComparison.Ordinal);

    private Task<string> Ok(params string[] args) => Ok(args, null);

    private Task<string> Apply(string yaml) => Ok(["apply", "-f", "-"], yaml);

    private async Task<string> Ok(string[] args, string? stdin)
    {
        var (exit, output, error) = await Kubectl.RunAsync(kube.KubeconfigPath, stdin, args);
        Assert.True(exit == 0, $"kubectl {string.Join(' ', args)} exited {exit}: {error}");
        return output.Trim();
    }
}
