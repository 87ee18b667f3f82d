using System.Net;
using System.Text.Json.Nodes;
using DePin.Testing;
using k8s;
using k8s.Autorest;

namespace DePin.LocalKube.Tests;

[Collection(LocalKubeGroup.Name)]
public sealed class ValidationTests(LocalKubeFixture kube)
{
    private const string Remove = "<remove>";

    // name, example file, JSON pointer, new value as JSON (or Remove), field path the 422 must name
    private static readonly (string Name, string File, string Pointer, string Value, string Field)[] Cases =
    [
        ("negative replicas", "web-service.yaml", "/spec/replicas", "-1", "spec.replicas"),
        ("replicas as a word", "web-service.yaml", "/spec/replicas", "\"three\"", "spec.replicas"),
        ("fractional replicas", "web-service.yaml", "/spec/replicas", "1.5", "spec.replicas"),
        ("too many replicas", "web-service.yaml", "/spec/replicas", "5000", "spec.replicas"),
        ("missing template", "web-service.yaml", "/spec/template", Remove, "spec.template"),
        ("missing marketplaceRef", "web-service.yaml", "/spec/marketplaceRef", Remove, "spec.marketplaceRef"),
        ("marketplace name not a DNS name", "web-service.yaml", "/spec/marketplaceRef/name", "\"Not_A_Name\"", "spec.marketplaceRef.name"),
        ("missing price ceiling", "web-service.yaml", "/spec/bidding/maxPricePerHour", Remove, "spec.bidding.maxPricePerHour"),
        ("negative price", "web-service.yaml", "/spec/bidding/maxPricePerHour", "\"-1\"", "spec.bidding.maxPricePerHour"),
        ("price in exponent form", "web-service.yaml", "/spec/bidding/maxPricePerHour", "\"1e3\"", "spec.bidding.maxPricePerHour"),
        ("price as a number", "web-service.yaml", "/spec/bidding/maxPricePerHour", "2.5", "spec.bidding.maxPricePerHour"),
        ("zero price", "web-service.yaml", "/spec/bidding/maxPricePerHour", "\"0\"", "spec.bidding.maxPricePerHour"),
        ("unknown strategy", "web-service.yaml", "/spec/bidding/strategy", "\"Cheapest\"", "spec.bidding.strategy"),
        ("zero bid window", "web-service.yaml", "/spec/bidding/bidWindowSeconds", "0", "spec.bidding.bidWindowSeconds"),
        ("lease longer than a year", "web-service.yaml", "/spec/bidding/leaseHours", "9000", "spec.bidding.leaseHours"),
        ("budget without its limit", "web-service.yaml", "/spec/bidding/budget", "{}", "spec.bidding.budget.maxSpendPerDay"),
        ("reputation above 1", "web-service.yaml", "/spec/placement/minReputation", "1.5", "spec.placement.minReputation"),
        ("negative reputation", "web-service.yaml", "/spec/placement/minReputation", "-0.1", "spec.placement.minReputation"),
        ("zero replicas per provider", "web-service.yaml", "/spec/placement/maxReplicasPerProvider", "0", "spec.placement.maxReplicasPerProvider"),
        ("short auditor address", "web-service.yaml", "/spec/placement/auditors", "[\"0x123\"]", "spec.placement.auditors[0]"),
        ("duplicate region", "web-service.yaml", "/spec/placement/regions", "[\"eu-west\",\"eu-west\"]", "spec.placement.regions[1]"),
        ("GPU model with a space", "web-service.yaml", "/spec/placement/gpuModels", "[\"H 100\"]", "spec.placement.gpuModels[0]"),
        ("attribute value too long", "web-service.yaml", "/spec/placement/requiredAttributes", "{\"tier\":\"" + new string('x', 300) + "\"}", "spec.placement.requiredAttributes.tier"),
        ("probe port out of range", "web-service.yaml", "/spec/sla/probe/tcpSocket/port", "70000", "spec.sla.probe.tcpSocket.port"),
        ("probe period as a string", "web-service.yaml", "/spec/sla/probe/periodSeconds", "\"5\"", "spec.sla.probe.periodSeconds"),
        ("unknown probe scheme", "gpu-inference.yaml", "/spec/sla/probe/httpGet/scheme", "\"FTP\"", "spec.sla.probe.httpGet.scheme"),
        ("negative stable seconds", "web-service.yaml", "/spec/fallback/failback/stableSeconds", "-5", "spec.fallback.failback.stableSeconds"),
        ("tolerations not a list", "web-service.yaml", "/spec/fallback/tolerations", "\"all\"", "spec.fallback.tolerations"),
        ("unknown spec field", "web-service.yaml", "/spec/bogus", "1", "spec.bogus"),
        ("name with an underscore", "web-service.yaml", "/metadata/name", "\"Bad_Name\"", "metadata.name"),
        ("unknown marketplace type", "marketplace-evm.yaml", "/spec/type", "\"Solana\"", "spec.type"),
        ("chain id zero", "marketplace-evm.yaml", "/spec/evm/chainId", "0", "spec.evm.chainId"),
        ("malformed contract address", "marketplace-evm.yaml", "/spec/evm/contractAddress", "\"0xZZbDB2315678afecb367f032d93F642f64180aa3\"", "spec.evm.contractAddress"),
        ("RPC URL not http", "marketplace-evm.yaml", "/spec/evm/rpcUrl", "\"ftp://rpc.example.org\"", "spec.evm.rpcUrl"),
        ("missing wallet secret key", "marketplace-evm.yaml", "/spec/evm/walletSecretRef/key", Remove, "spec.evm.walletSecretRef.key"),
        ("empty provider list", "marketplace-static.yaml", "/spec/static/providers", "[]", "spec.static.providers"),
        ("duplicate provider id", "marketplace-static.yaml", "/spec/static/providers/1/id", "\"provider-fra\"", "spec.static.providers[1]"),
        ("negative GPU capacity", "marketplace-static.yaml", "/spec/static/providers/2/capacity/gpus", "-8", "spec.static.providers[2].capacity.gpus"),
    ];

    public static TheoryData<string> CaseNames() => [.. Cases.Select(c => c.Name)];

    [Fact]
    public void Cases_AreAtLeastTwentyFive()
    {
        Assert.True(Cases.Length >= 25);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task InvalidResource_ThroughKubernetesClient_Is422NamingTheField(string name)
    {
        var (obj, field) = Invalid(name);
        var plural = (string)obj["kind"]! == "DePinMarketplace" ? "depinmarketplaces" : "depindeployments";

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => plural == "depinmarketplaces"
            ? kube.Client.CustomObjects.CreateClusterCustomObjectAsync(obj, "depin.dev", "v1alpha1", plural, fieldValidation: "Strict")
            : kube.Client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, "depin.dev", "v1alpha1", "default", plural, fieldValidation: "Strict"));

        Assert.Equal((HttpStatusCode)422, error.Response.StatusCode);
        var status = JsonNode.Parse(error.Response.Content)!;
        Assert.Equal("Invalid", (string?)status["reason"]);
        var fields = status["details"]!["causes"]!.AsArray().Select(c => (string?)c!["field"]).ToList();
        Assert.Contains(field, fields);
        Assert.Contains(field + ":", (string?)status["message"], StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task InvalidResources_ThroughKubectlApply_AreRefusedNamingTheField()
    {
        var failures = new List<string>();
        foreach (var (name, _, _, _, _) in Cases)
        {
            var (obj, field) = Invalid(name);
            obj["metadata"]!["name"] = obj["metadata"]!["name"]!.ToString() == "Bad_Name" ? "Bad_Name" : $"kubectl-{Cases.ToList().FindIndex(c => c.Name == name)}";
            var (exit, _, err) = await Kubectl.RunAsync(kube.KubeconfigPath, obj.ToJsonString(), "apply", "-f", "-");
            if (exit == 0 || !err.Contains("is invalid", StringComparison.Ordinal) || !err.Contains(field, StringComparison.Ordinal))
            {
                failures.Add($"{name}: exit {exit}: {err.Trim()}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task ValidExamples_AreAccepted()
    {
        foreach (var file in new[] { "web-service.yaml", "gpu-inference.yaml" })
        {
            var obj = Example(file);
            obj["metadata"]!["namespace"] = "default";
            obj["metadata"]!["name"] = $"valid-{file.Replace(".yaml", "", StringComparison.Ordinal)}";
            await kube.Client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, "depin.dev", "v1alpha1", "default", "depindeployments", fieldValidation: "Strict");
        }

        foreach (var file in new[] { "marketplace-evm.yaml", "marketplace-static.yaml" })
        {
            await kube.Client.CustomObjects.CreateClusterCustomObjectAsync(Example(file), "depin.dev", "v1alpha1", "depinmarketplaces", fieldValidation: "Strict");
        }
    }

    private static (JsonObject Obj, string Field) Invalid(string name)
    {
        var (_, file, pointer, value, field) = Cases.Single(c => c.Name == name);
        var obj = Example(file);
        obj["metadata"]!["name"] = "invalid";
        if (obj["kind"]!.ToString() == "DePinDeployment")
        {
            obj["metadata"]!["namespace"] = "default";
        }

        var segments = pointer.TrimStart('/').Split('/');
        JsonNode parent = obj;
        foreach (var segment in segments[..^1])
        {
            parent = parent is JsonArray a ? a[int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture)]! : parent[segment] ?? (parent[segment] = new JsonObject());
        }

        var last = segments[^1];
        if (value == Remove)
        {
            parent.AsObject().Remove(last);
        }
        else
        {
            parent[last] = JsonNode.Parse(value);
        }

        return (obj, field);
    }

    private static JsonObject Example(string file) =>
        YamlJson.Parse(File.ReadAllText(RepositoryPaths.Of("crds", "examples", file)))!.AsObject();
}
