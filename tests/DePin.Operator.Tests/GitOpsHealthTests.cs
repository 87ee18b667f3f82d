using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DePin.Testing;

namespace DePin.Operator.Tests;

/// <summary>The Argo CD health check in docs/gitops.md, run in a Lua VM (fengari, from hack/tools) on DePinDeployments in each state.</summary>
public sealed partial class GitOpsHealthTests
{
    [Theory]
    [InlineData("""{"metadata":{"generation":1}}""", "Progressing", "waiting for the operator")]
    [InlineData("""{"metadata":{"generation":3},"status":{"observedGeneration":2,"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}""", "Progressing", "has not seen the latest spec")]
    [InlineData("""{"metadata":{"generation":1},"status":{"observedGeneration":1,"phase":"Failed","conditions":[{"type":"Ready","status":"False"},{"type":"Stalled","status":"True","reason":"InvalidSpec","message":"spec.replicas must be at least 0"}]}}""", "Degraded", "InvalidSpec: spec.replicas must be at least 0")]
    [InlineData("""{"metadata":{"generation":1},"status":{"observedGeneration":1,"phase":"Running","conditions":[{"type":"Ready","status":"True","message":"2/2 replicas ready on 2 leases"}]}}""", "Healthy", "2/2 replicas ready on 2 leases")]
    [InlineData("""{"metadata":{"generation":1},"status":{"observedGeneration":1,"phase":"OnFallback","conditions":[{"type":"Ready","status":"True","message":"2/2"}]}}""", "Degraded", "on cloud nodes")]
    [InlineData("""{"metadata":{"generation":1},"status":{"observedGeneration":1,"phase":"Bidding","conditions":[{"type":"Ready","status":"False","message":"waiting for bids"},{"type":"Reconciling","status":"True"}]}}""", "Progressing", "waiting for bids")]
    public async Task TheArgoCdHealthCheck_ReadsTheKstatusConditions(string resource, string status, string message)
    {
        var docs = await File.ReadAllTextAsync(RepositoryPaths.Of("docs", "gitops.md"));
        var block = LuaBlock().Match(docs);
        Assert.True(block.Success, "docs/gitops.md has no health check for DePinDeployment");
        var directory = Directory.CreateTempSubdirectory("argocd-health-");
        try
        {
            var script = Path.Combine(directory.FullName, "health.lua");
            var input = Path.Combine(directory.FullName, "resource.json");
            await File.WriteAllTextAsync(script, string.Join('\n', block.Groups[1].Value.Split('\n').Select(l => l.Length >= 4 ? l[4..] : l)));
            await File.WriteAllTextAsync(input, resource);
            var health = JsonNode.Parse(await CommandLine.OutputOfAsync("node", [RepositoryPaths.Of("hack", "argocd-health.js"), script, input]))!;
            Assert.Equal(status, (string?)health["status"]);
            Assert.Contains(message, (string?)health["message"] ?? "", StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"health\.depin\.dev_DePinDeployment: \|\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex LuaBlock();
}
