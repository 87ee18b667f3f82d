using System.Text.Json.Nodes;
using DePin.Api;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.CrdGen.Tests;

public sealed class CrdGeneratorTests
{
    private static readonly IReadOnlyList<GeneratedCrd> Crds = CrdGenerator.Generate(typeof(DePinApi).Assembly);

    public static TheoryData<string> CrdFiles() => [.. Crds.Select(c => c.FileName)];

    [Theory]
    [InlineData("depindeployments", "DePinDeployment", "dpd", "Namespaced")]
    [InlineData("depinleases", "DePinLease", "dpl", "Namespaced")]
    [InlineData("depinmarketplaces", "DePinMarketplace", "dpm", "Cluster")]
    public void Generate_EachKind_HasNamesScopeAndStatusSubresource(string plural, string kind, string shortName, string scope)
    {
        var crd = Parse(Crds.Single(c => c.FileName == $"depin.dev_{plural}.yaml"));

        Assert.Equal($"{plural}.depin.dev", crd.Metadata.Name);
        Assert.Equal("depin.dev", crd.Spec.Group);
        Assert.Equal(kind, crd.Spec.Names.Kind);
        Assert.Equal([shortName], crd.Spec.Names.ShortNames);
        Assert.Equal(["depin"], crd.Spec.Names.Categories);
        Assert.Equal(scope, crd.Spec.Scope);
        var version = Assert.Single(crd.Spec.Versions);
        Assert.Equal("v1alpha1", version.Name);
        Assert.True(version.Served);
        Assert.True(version.Storage);
        Assert.NotNull(version.Subresources.Status);
        Assert.Contains(version.AdditionalPrinterColumns, c => c.Name == "Age" && c.Type == "date");
    }

    [Fact]
    public void Generate_DePinDeployment_HasScaleSubresourceAndPrinterColumns()
    {
        var version = Parse(Crds.Single(c => c.FileName == "depin.dev_depindeployments.yaml")).Spec.Versions[0];

        Assert.Equal(".spec.replicas", version.Subresources.Scale.SpecReplicasPath);
        Assert.Equal(".status.replicas", version.Subresources.Scale.StatusReplicasPath);
        Assert.Equal(".status.selector", version.Subresources.Scale.LabelSelectorPath);
        Assert.Equal(
            ["Phase", "Provider(s)", "Price/h", "Ready", "Fallback", "Age"],
            version.AdditionalPrinterColumns.Select(c => c.Name));

        // Every column points at a field the schema declares, so kubectl never shows a silently empty column.
        var schema = Schema(Crds.Single(c => c.FileName == "depin.dev_depindeployments.yaml"));
        foreach (var column in version.AdditionalPrinterColumns.Where(c => !c.JsonPath.StartsWith(".metadata", StringComparison.Ordinal)))
        {
            JsonNode? node = schema;
            foreach (var segment in column.JsonPath.TrimStart('.').Split('.'))
            {
                node = node?["properties"]?[segment];
            }

            Assert.True(node is not null, $"column {column.Name}: {column.JsonPath} is not in the schema");
        }
    }

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public void Schema_EveryNode_IsStructural(string file)
    {
        var problems = new List<string>();
        var root = Schema(Crds.Single(c => c.FileName == file));

        Assert.Equal(new JsonObject { ["type"] = "object" }, root["properties"]!["metadata"], JsonNode.DeepEquals);
        StructuralSchema.Check(root, "", problems);

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public void Schema_SpecAndStatusFields_AllHaveDescriptions(string file)
    {
        var root = Schema(Crds.Single(c => c.FileName == file));
        var missing = new List<string>();
        var described = 0;

        foreach (var part in new[] { "spec", "status" })
        {
            StructuralSchema.CollectUndescribed(root["properties"]![part]!.AsObject(), part, missing, ref described);
        }

        Assert.True(missing.Count == 0, "fields without a description:\n" + string.Join('\n', missing));
        Assert.True(described > 10);
    }

    [Fact]
    public void StructuralCheck_TypeArrayOrMissingType_IsReported()
    {
        var problems = new List<string>();
        var bad = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["a"] = new JsonObject { ["type"] = new JsonArray("string", "null") },
                ["b"] = new JsonObject { ["description"] = "untyped" },
            },
        };

        StructuralSchema.Check(bad, "", problems);

        Assert.Equal(2, problems.Count);
    }

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public void GeneratedYaml_ReadByKubernetesClient_KeepsEveryField(string file)
    {
        var crd = Crds.Single(c => c.FileName == file);
        var yaml = crd.ToYaml();

        var typed = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(yaml);
        var differences = new List<string>();
        JsonTrees.Compare(YamlJson.Parse(yaml), JsonNode.Parse(KubernetesJson.Serialize(typed)), "", differences);

        Assert.True(differences.Count == 0, string.Join('\n', differences));
        Assert.StartsWith(GeneratedCrd.Header + "\n", yaml, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public void CommittedCrd_EqualsGeneratorOutput(string file)
    {
        var committed = File.ReadAllText(RepositoryPaths.Of("crds", file));

        Assert.True(
            committed == Crds.Single(c => c.FileName == file).ToYaml(),
            $"crds/{file} is stale: run `make manifests`");
    }

    [Fact]
    public void CommittedReference_EqualsGeneratorOutput_AndNamesEveryCrossFieldRule()
    {
        var reference = ReferenceWriter.Write(Crds);

        Assert.True(reference == File.ReadAllText(RepositoryPaths.Of("docs", "crd-reference.md")), "docs/crd-reference.md is stale: run `make manifests`");
        Assert.Contains("| `.spec.sla.probe` | object |", reference, StringComparison.Ordinal);
        Assert.Contains("rule: exactly one of httpGet and tcpSocket must be set", reference, StringComparison.Ordinal);
        Assert.Contains("Kubernetes' own PodTemplateSpec", reference, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CrdFiles))]
    public void TheChartsCopyOfACrd_EqualsTheCommittedCrd(string file)
    {
        Assert.Equal(File.ReadAllText(RepositoryPaths.Of("crds", file)), File.ReadAllText(RepositoryPaths.Of("charts", "depin-operator", "crds", file)));
    }

    [Fact]
    public void CommittedCrds_HaveNoFileTheGeneratorDoesNotWrite()
    {
        var committed = Directory.GetFiles(RepositoryPaths.Of("crds"), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(Crds.Select(c => c.FileName), committed);
    }

    private static V1CustomResourceDefinition Parse(GeneratedCrd crd) => KubernetesYaml.Deserialize<V1CustomResourceDefinition>(crd.ToYaml());

    private static JsonObject Schema(GeneratedCrd crd) =>
        crd.Definition["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!.AsObject();
}
