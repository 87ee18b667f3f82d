using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.Testing;
using k8s;

namespace DePin.Api.Tests;

public sealed class ExamplesTests
{
    public static TheoryData<string> ExampleFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(RepositoryPaths.Of("crds", "examples"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void ExampleFiles_CoverEveryKindUsersWrite()
    {
        var kinds = Directory.GetFiles(RepositoryPaths.Of("crds", "examples"), "*.yaml")
            .Select(file => (string?)YamlJson.Parse(File.ReadAllText(file))!["kind"])
            .ToList();

        Assert.Equal(2, kinds.Count(k => k == DePinDeployment.KubeKind));
        Assert.Equal(2, kinds.Count(k => k == DePinMarketplace.KubeKind));
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Example_DeserializeThenSerialize_KeepsEveryField(string file)
    {
        var original = YamlJson.Parse(File.ReadAllText(RepositoryPaths.Of("crds", "examples", file)))!.AsObject();
        var kind = (string?)original["kind"];

        var roundTripped = kind switch
        {
            DePinDeployment.KubeKind => RoundTrip<DePinDeployment>(original),
            DePinMarketplace.KubeKind => RoundTrip<DePinMarketplace>(original),
            DePinLease.KubeKind => RoundTrip<DePinLease>(original),
            _ => throw new InvalidDataException($"{file}: unknown kind {kind}"),
        };

        // Defaulted fields come back written out, as they do from the API server.
        SchemaDefaults.Apply(original, kind switch
        {
            DePinDeployment.KubeKind => typeof(DePinDeployment),
            DePinMarketplace.KubeKind => typeof(DePinMarketplace),
            _ => typeof(DePinLease),
        });
        var differences = new List<string>();
        JsonTrees.Compare(original, roundTripped, "", differences);
        Assert.True(differences.Count == 0, $"{file} lost or changed fields:\n{string.Join('\n', differences)}");
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Example_KubernetesYaml_ReadsTheTypedObject(string file)
    {
        var yaml = File.ReadAllText(RepositoryPaths.Of("crds", "examples", file));
        var kind = (string?)YamlJson.Parse(yaml)!["kind"];

        IKubernetesObject parsed = kind switch
        {
            DePinDeployment.KubeKind => KubernetesYaml.Deserialize<DePinDeployment>(yaml),
            DePinMarketplace.KubeKind => KubernetesYaml.Deserialize<DePinMarketplace>(yaml),
            _ => throw new InvalidDataException(kind),
        };

        Assert.Equal(DePinApi.GroupVersion, parsed.ApiVersion);
        Assert.Equal(kind, parsed.Kind);
    }

    [Fact]
    public void GpuExample_Deserialize_ReadsNestedValues()
    {
        var dpd = KubernetesJson.Deserialize<DePinDeployment>(
            YamlJson.Parse(File.ReadAllText(RepositoryPaths.Of("crds", "examples", "gpu-inference.yaml")))!.ToJsonString());

        Assert.Equal(["H100", "A100"], dpd.Spec.Placement.GpuModels);
        Assert.Equal(BidStrategy.BestScore, dpd.Spec.Bidding.Strategy);
        Assert.Equal("3.20", dpd.Spec.Bidding.MaxPricePerHour);
        Assert.Equal(ProbeScheme.Http, dpd.Spec.Sla!.Probe!.HttpGet!.Scheme);
        Assert.Equal(120, dpd.Spec.Fallback.Failback.StableSeconds);
        Assert.Equal("1", dpd.Spec.Template.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"].ToString());
    }

    private static JsonObject RoundTrip<T>(JsonObject original)
    {
        var typed = KubernetesJson.Deserialize<T>(original.ToJsonString());
        return JsonNode.Parse(KubernetesJson.Serialize(typed))!.AsObject();
    }
}
