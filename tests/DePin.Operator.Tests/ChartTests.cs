using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>
/// The Helm chart with the real helm: lint, rendering with defaults and with every feature on, values
/// the schema refuses, and its RBAC proven on LocalKube with the authorizer on: the operator, running
/// with the chart's ServiceAccount token, goes through a full lifecycle without a single 403, and
/// without any one of the chart's rules it is refused.
/// </summary>
public sealed partial class ChartTests
{
    private const string Release = "depin-operator";
    private const string Namespace = "depin-system";
    private static readonly string Chart = RepositoryPaths.Of("charts", "depin-operator");

    private static readonly string[] EveryFeature =
    [
        "--set", "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.prometheusRule.spendPerHour=5,dashboard.enabled=true,networkPolicy.enabled=true",
        "--set", "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
    ];

    // The rules of the chart's roles, by role and position; WithEveryRule_ checks that this list is complete.
    public static TheoryData<string, int> Rules { get; } = new()
    {
        { "ClusterRole", 0 }, { "ClusterRole", 1 }, { "ClusterRole", 2 }, { "ClusterRole", 3 }, { "ClusterRole", 4 }, { "ClusterRole", 5 },
        { "ClusterRole", 6 }, { "ClusterRole", 7 }, { "ClusterRole", 8 }, { "ClusterRole", 9 }, { "ClusterRole", 10 }, { "ClusterRole", 11 },
        { "Role", 0 }, { "Role", 1 },
        { "Role/node-leases", 0 },
    };

    [Fact]
    public async Task HelmLintStrict_Passes_WithDefaults_AndWithEveryFeatureOn()
    {
        await HelmAsync(["lint", "--strict", Chart]);
        await HelmAsync(["lint", "--strict", Chart, .. EveryFeature]);
    }

    [Fact]
    public async Task WithDefaults_TheChartRendersTwoLeaderElectedReplicas_WithARestrictedSecurityContext()
    {
        var objects = await TemplateAsync();
        Assert.Equal(
            ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"],
            objects.Select(o => (string)o["kind"]!).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(3, objects.Count(o => (string)o["kind"]! == "CustomResourceDefinition"));

        var deployment = Assert.Single(objects, o => (string)o["kind"]! == "Deployment");
        Assert.Equal(2, (long)deployment["spec"]!["replicas"]!);
        var pod = deployment["spec"]!["template"]!["spec"]!;
        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        Assert.Equal("RuntimeDefault", (string)pod["securityContext"]!["seccompProfile"]!["type"]!);
        var container = pod["containers"]![0]!;
        Assert.Equal("depin-operator:0.1.0", (string)container["image"]!);
        Assert.Contains("--leader-elect", container["args"]!.AsArray().Select(a => (string)a!));
        Assert.False((bool)container["securityContext"]!["allowPrivilegeEscalation"]!);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.Equal(["ALL"], container["securityContext"]!["capabilities"]!["drop"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("/readyz", (string)container["readinessProbe"]!["httpGet"]!["path"]!);
        Assert.NotNull(container["resources"]!["limits"]!["memory"]);
        Assert.Contains(container["env"]!.AsArray(), e => (string)e!["name"]! == "POD_NAMESPACE" && (string)e["valueFrom"]!["fieldRef"]!["fieldPath"]! == "metadata.namespace");

        // The copies of the CRDs in the chart are those in crds/.
        foreach (var crd in objects.Where(o => (string)o["kind"]! == "CustomResourceDefinition"))
        {
            var plural = ((string)crd["metadata"]!["name"]!).Split('.')[0];
            var source = YamlJson.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("crds", $"depin.dev_{plural}.yaml")));
            Assert.True(JsonNode.DeepEquals(source, crd), $"the chart's copy of {crd["metadata"]!["name"]} differs from crds/");
        }
    }

    [Fact]
    public async Task WithEveryFeatureOn_TheChartRendersMonitoring_TheDashboard_AndANetworkPolicy_OnMetricsTheOperatorHas()
    {
        var objects = await TemplateAsync(EveryFeature);
        foreach (var kind in new[] { "ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap" })
        {
            Assert.Contains(objects, o => (string)o["kind"]! == kind);
        }

        var rule = Assert.Single(objects, o => (string)o["kind"]! == "PrometheusRule");
        var alerts = rule["spec"]!["groups"]![0]!["rules"]!.AsArray();
        Assert.Equal(["DePinFailoversFrequent", "DePinProbeFailures", "DePinSpendHigh", "DePinReconcileErrors"], alerts.Select(a => (string)a!["alert"]!));
        var policy = Assert.Single(objects, o => (string)o["kind"]! == "NetworkPolicy");
        Assert.Equal("monitoring", (string)policy["spec"]!["ingress"]![0]!["from"]![0]!["namespaceSelector"]!["matchLabels"]!["kubernetes.io/metadata.name"]!);

        // Every metric that the alerts and the dashboard query is one the operator or the runtime exports.
        var dashboard = JsonNode.Parse((string)Assert.Single(objects, o => (string)o["kind"]! == "ConfigMap")["data"]!["depin-operator.json"]!)!;
        var queries = alerts.Select(a => (string)a!["expr"]!).Concat(dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => (string)t!["expr"]!))).ToList();
        Assert.Equal(12, dashboard["panels"]!.AsArray().Count);
        var known = KnownMetrics();
        foreach (var name in queries.SelectMany(q => MetricName().Matches(q).Select(m => m.Value)).Distinct(StringComparer.Ordinal))
        {
            var family = Regex.Replace(name, "_(bucket|count|sum)$", "");
            Assert.True(known.Contains(family) || name.StartsWith("dotnet_", StringComparison.Ordinal), $"{name} is not a metric the operator exports");
        }
    }

    [Fact]
    public async Task TheReadmesInstallCommand_RendersWithTheSameArguments_AndTheReadmeListsEveryValue()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(Chart, "README.md"));
        var command = InstallCommand().Match(readme);
        Assert.True(command.Success, "the chart README shows no helm install command");
        var arguments = command.Groups[1].Value.Replace("\\\n", " ", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "--create-namespace").ToArray();
        var objects = YamlJson.ParseAll(await HelmAsync(["template", .. arguments]));
        Assert.Equal("registry.example.org/depin-operator:0.1.0", (string)Assert.Single(objects, o => (string)o["kind"]! == "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!);

        // Every value of the schema has a row in the README's table.
        var schema = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Chart, "values.schema.json")))!;
        foreach (var key in Leaves(schema, ""))
        {
            Assert.Contains($"| `{key}` |", readme, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("workers=0", "/workers")]
    [InlineData("replicaCount=2,leaderElection.enabled=false", "replicaCount above 1 needs leaderElection.enabled")]
    [InlineData("image.pullPolicy=Sometimes", "/image/pullPolicy")]
    [InlineData("metrics.serviceMonitor.interval=often", "/metrics/serviceMonitor/interval")]
    [InlineData("replicas=3", "additional properties 'replicas' not allowed")]
    [InlineData("serviceAccount.create=false", "serviceAccount.name is required")]
    public async Task ValuesTheChartCannotHonour_AreRefused_WithTheReason(string set, string reason)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TemplateAsync(["--set", set]));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithEveryRule_TheOperatorRunsAFullLifecycle_UnderRbac_WithoutA403()
    {
        var roles = (await TemplateAsync()).Where(o => (string)o["kind"]! is "ClusterRole" or "Role").ToDictionary(RoleKey, o => o["rules"]!.AsArray().Count);
        Assert.Equal(roles, Rules.GroupBy(r => (string)r[0]).ToDictionary(g => g.Key, g => g.Count()));

        await using var world = await StartAsync(null);
        await LifecycleAsync(world);
        Assert.Empty(world.Server.Security.Denials);
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{world.Operator!.Port}/metrics"));
        Assert.DoesNotContain("code=\"403\"", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task WithoutAnyOneRule_TheOperatorIsRefused(string role, int index)
    {
        var rule = Assert.Single(await TemplateAsync(), o => (string)o["kind"]! is "ClusterRole" or "Role" && RoleKey(o) == role)["rules"]![index]!;
        var resources = rule["resources"]!.AsArray().Select(r => $"resource \"{(string)r!}\"").ToList();
        await using var world = await StartAsync((role, index));
        var lifecycle = LifecycleAsync(world);
        var refusal = Eventually.UntilAsync(() => Task.FromResult(world.Server.Security.Denials.Any(d => resources.Any(r => d.Contains(r, StringComparison.Ordinal)))), TimeSpan.FromSeconds(120));
        await Task.WhenAny(lifecycle, refusal);
        _ = lifecycle.ContinueWith(t => t.Exception, TaskScheduler.Default);
        Assert.True(refusal.IsCompletedSuccessfully, $"the operator went through the whole lifecycle without rule {index} of {role} ({rule.ToJsonString()}): the rule is not needed; refusals: {string.Join("; ", world.Server.Security.Denials)}");
    }

    // LocalKube with RBAC on, one provider agent, the chart's objects applied (one rule left out if
    // asked), and the operator started with the chart's ServiceAccount token and leader election.
    private static async Task<OperatorWorld> StartAsync((string Role, int Index)? without)
    {
        var world = await OperatorWorld.PrepareStaticAsync(new ServerOptions { Rbac = true, CloudNodes = new() { Count = 2 } }, new TestProvider("provider-a", "eu-west", "0.02"));
        try
        {
            var objects = await TemplateAsync(["--set", "networkPolicy.enabled=true,dashboard.enabled=true"]);
            if (without is { } rule)
            {
                Assert.Single(objects, o => (string)o["kind"]! is "ClusterRole" or "Role" && RoleKey(o) == rule.Role)["rules"]!.AsArray().RemoveAt(rule.Index);
            }

            var file = world.WriteFile("chart.json", string.Join("\n", objects.Select(o => o.ToJsonString())));
            await world.KubectlAsync("apply", "-f", file);

            var token = world.Server.Security.IssueServiceAccountToken(Namespace, Release);
            var kubeconfig = world.WriteFile("operator-kubeconfig", world.Server.Kubeconfig(token));
            if (without is null)
            {
                await world.StartOperatorAsync(kubeconfig, "--leader-elect");
            }
            else
            {
                // Without a rule it may never become ready; the test watches for the refusal instead.
                world.LaunchOperator(kubeconfig, "--leader-elect");
            }

            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    // What the operator does for a deployment, start to end: the auction, a lease with its virtual node
    // and node Lease, a pod with ConfigMap env mirrored from the provider, Events, the reputation
    // ConfigMap, and the deletion of all of it.
    private static async Task LifecycleAsync(OperatorWorld world)
    {
        await world.Kube.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "web-settings" }, Data = new Dictionary<string, string> { ["greeting"] = "hello" } }, "default");
        var deployment = OperatorWorld.WebServiceExample("web");
        deployment.Spec.Replicas = 1;
        deployment.Spec.Template.Spec.Containers[0].Env = [new V1EnvVar { Name = "GREETING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "web-settings", Key = "greeting" } } }];
        await world.CreateAsync(deployment);
        var running = await world.WaitAsync("web", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.ReadyReplicas == 1, TimeSpan.FromSeconds(60));
        var node = Assert.Single(await world.LeasesAsync()).Status!.NodeName!;
        await world.UntilAsync(async () => (await world.Kube.CoordinationV1.ListNamespacedLeaseAsync("kube-node-lease")).Items.Any(l => l.Metadata.Name == node), "the virtual node's Lease", TimeSpan.FromSeconds(30));
        await world.UntilAsync(async () => (await world.Kube.CoreV1.ListNamespacedConfigMapAsync(Namespace)).Items.Any(c => c.Metadata.Name == "depin-provider-reputation"), "the provider reputation ConfigMap", TimeSpan.FromSeconds(40));
        await world.UntilAsync(async () => (await world.Kube.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.Source?.Component == "depin-operator" || e.ReportingComponent == "depin-operator"), "an Event from the operator", TimeSpan.FromSeconds(30));
        await world.DeleteAsync("web");
        await world.UntilAsync(async () => await world.GetAsync("web") is null, "the deletion", TimeSpan.FromSeconds(60));
        Assert.Empty(await world.LeasesAsync());
        Assert.Empty((await world.Kube.CoreV1.ListNodeAsync(labelSelector: "type=virtual-kubelet")).Items);
        Assert.DoesNotContain((await world.Kube.CoordinationV1.ListNamespacedLeaseAsync("kube-node-lease")).Items, l => l.Metadata.Name == node);
    }

    // Dotted keys of the values a schema describes, down to objects that hold free-form maps.
    private static IEnumerable<string> Leaves(JsonNode schema, string prefix)
    {
        if (schema["properties"] is JsonObject properties && prefix != "resources.")
        {
            return properties.SelectMany(p => Leaves(p.Value!, prefix + p.Key + "."));
        }

        return [prefix.TrimEnd('.')];
    }

    private static string RoleKey(JsonNode role) => (string)role["kind"]! == "Role" && ((string)role["metadata"]!["name"]!).EndsWith("-node-leases", StringComparison.Ordinal) ? "Role/node-leases" : (string)role["kind"]!;

    // Metric names the project creates, read from its sources.
    private static HashSet<string> KnownMetrics()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.Of("operator"), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal)))
        {
            foreach (Match match in MetricDefinition().Matches(File.ReadAllText(file)))
            {
                names.Add(match.Groups[1].Value);
            }
        }

        return names;
    }

    private static async Task<List<JsonNode>> TemplateAsync(params string[] extra)
    {
        var yaml = await HelmAsync(["template", Release, Chart, "--namespace", Namespace, "--include-crds", .. extra]);
        return [.. YamlJson.ParseAll(yaml)];
    }

    private static Task<string> HelmAsync(string[] arguments) => CommandLine.OutputOfAsync("helm", arguments);

    [GeneratedRegex(@"helm install ([^\n\\]*(?:\\\n[^\n\\]*)*)")]
    private static partial Regex InstallCommand();

    [GeneratedRegex(@"\b((?:depin|dotnet)_[a-z_]+)")]
    private static partial Regex MetricName();

    [GeneratedRegex("Create(?:Counter|Histogram|UpDownCounter|ObservableGauge|ObservableCounter|Gauge)(?:<[a-z]+>)?\\(\"([a-z_]+)\"")]
    private static partial Regex MetricDefinition();
}
