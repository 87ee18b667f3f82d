using System.Text.RegularExpressions;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;

namespace DePin.Operator.Tests;

/// <summary>
/// The commands the README and the docs show, run as a reader runs them: the README's install with the
/// real helm and kubectl against LocalKube with RBAC on, then the upgrade of the operations guide, then
/// the commands the guides show in their prose. Only what a reader fills in is filled in: the
/// endpoints of the example fleet (its agents here), and NAME and N.
/// </summary>
public sealed partial class DocumentedCommandTests
{
    private const string Namespace = "depin-system";

    // Prices of a CPU core-hour for the example fleet's three providers, in the order the example lists them.
    private static readonly string[] Prices = ["0.03", "0.02", "0.04"];

    // The install of the README, from the helm install to kubectl get.
    private static IReadOnlyList<string> Install => DocumentedCommands.Block("README.md", "helm install");

    // The upgrade of the operations guide.
    private static IReadOnlyList<string> Upgrade => DocumentedCommands.Block("docs/operations.md", "helm upgrade");

    // Commands the guides show in prose, about a DePinDeployment the reader names.
    private static IReadOnlyList<string> Prose =>
    [
        DocumentedCommands.Inline("docs/operator.md", "kubectl get dpd"),
        DocumentedCommands.Inline("docs/operator.md", "kubectl get dpl"),
        DocumentedCommands.Inline("README.md", "kubectl get depin"),
        DocumentedCommands.Inline("docs/operations.md", "kubectl describe dpd"),
        DocumentedCommands.Inline("docs/operator.md", "kubectl scale dpd/"),
    ];

    // Where each command the documents show runs, besides the commands this class runs itself (which
    // cover the same command shown again in another document).
    private static readonly (string Pattern, string RunBy)[] Elsewhere =
    [
        (@"^make test$", ".ci/run, on a fresh clone"),
        (@"^make (build|tools)$", "make test, which builds and installs the tools first"),
        (@"^make verify$", ".ci/run, before make test"),
        (@"^make manifests$", "make verify, which runs it into a scratch folder and compares"),
        (@"^make clean$", "MakefileTests, in a scratch tree"),
        (@"^make bench$", ".ci/run, after make test"),
        (@"^make demo( ARGS=--exit)?$", "DemoTests, which runs the program make demo builds, with --exit"),
        (@"^helm lint --strict$", "ChartTests.HelmLintStrict_Passes_WithDefaults_AndWithEveryFeatureOn"),
        (@"^docker build -f operator/Dockerfile -t depin-operator:0\.1\.0 \.$", "ImageTests, where a Docker engine runs"),
        (@"^dotnet publish provider-agent -c Release -o /opt/depin-agent$", "PublishTests in the agent's tests"),
        (@"^provider-agent --help$", "PublishTests in the agent's tests"),
        (@"^(dotnet run --project hack/LocalKube -- .*|export KUBECONFIG=\S+|kubectl apply -f crds/|kubectl get dpd)$", "LocalKube's CommandLineTests, the README's block"),
    ];

    [Fact]
    public void EveryCommandTheDocumentsShow_IsRunByATest()
    {
        var here = Install.Concat(Upgrade).Concat(Prose).ToHashSet(StringComparer.Ordinal);
        var all = DocumentedCommands.All();
        var unrun = all.Where(c => !here.Contains(c.Text) && !Elsewhere.Any(e => Regex.IsMatch(c.Text, e.Pattern))).ToList();
        Assert.True(unrun.Count == 0, "commands no test runs:\n" + string.Join("\n", unrun.Select(c => $"{c.File}: {c.Text}")));

        // And no entry of the list is left over from a command the documents no longer show.
        Assert.All(Elsewhere, e => Assert.True(all.Any(c => Regex.IsMatch(c.Text, e.Pattern)), $"no document shows a command like {e.Pattern} any more"));
    }

    [Fact]
    public async Task TheReadmesInstall_TheOperationsGuidesUpgrade_AndTheGuidesCommands_RunAsWritten()
    {
        await using var world = await OperatorWorld.PrepareBareAsync(new ServerOptions { Rbac = true, CloudNodes = new() { Count = 2 } }, Prices.Length);
        var clone = await CloneAsync(world);
        var (install, upgrade, prose) = (Install, Upgrade, Prose);

        Assert.StartsWith("helm install ", install[0], StringComparison.Ordinal);
        Assert.Contains("kubectl get dpd,dpl,nodes,pods", install[^1], StringComparison.Ordinal);
        await RunAsync(world, clone, install[0]);

        // The chart's Deployment cannot run here (LocalKube runs no containers for it), so the operator
        // runs as a process with what the chart gave it: its ServiceAccount's token and leader election.
        var token = world.Server.Security.IssueServiceAccountToken(Namespace, "depin-operator");
        await world.StartOperatorAsync(world.WriteFile("operator-kubeconfig", world.Server.Kubeconfig(token)), "--leader-elect");
        string? table = null;
        foreach (var command in install.Skip(1))
        {
            table = await RunAsync(world, clone, command);
        }

        // Three replicas, at most one per provider: one on each of the fleet's providers.
        var web = await world.WaitAsync("web", d => d.Status?.Phase == DeploymentPhase.Running && d.Status.ReadyReplicas == 3);
        Assert.Equal(3, (await world.LeasesAsync()).Select(l => l.Spec.Provider.Id).Distinct().Count());
        foreach (var (row, count) in new[] { (@"depindeployment\.depin\.dev/web +Running", 1), (@"depinlease\.depin\.dev/web-", 3), (@"node/depin-\S+ +Ready .* depin-provider-agent", 3), (@"pod/web-\S+ +1/1 +Running", 3) })
        {
            Assert.True(Regex.Count(table!, row) == count, $"kubectl get dpd,dpl,nodes,pods shows {count} rows like {row}:\n{table}");
        }
        Assert.Empty(world.Server.Security.Denials);

        // The guides' commands about that deployment, with NAME and N filled in.
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var command in prose)
        {
            outputs[command] = await RunAsync(world, clone, Filled(command));
        }

        Assert.Contains("web", outputs[prose[0]], StringComparison.Ordinal);
        Assert.Equal(3, Regex.Count(outputs[prose[1]], @"^web-", RegexOptions.Multiline));
        Assert.Contains("depinmarketplace.depin.dev/depin-static", outputs[prose[2]], StringComparison.Ordinal);
        Assert.Matches(@"Name: +web", outputs[prose[3]]);
        Assert.Contains("Events:", outputs[prose[3]], StringComparison.Ordinal);
        await world.WaitAsync("web", d => d.Status?.ReadyReplicas == 2 && d.Status.Replicas == 2);

        // The upgrade: the CRDs, the release, and every deployment still Running.
        foreach (var command in upgrade)
        {
            table = await RunAsync(world, clone, command);
        }

        Assert.Contains((await world.Kube.CoreV1.ListNamespacedSecretAsync(Namespace, labelSelector: "owner=helm,name=depin-operator,version=2")).Items, s => s.Metadata.Labels["status"] == "deployed");
        Assert.Matches(@"default +web +Running", table!);
        Assert.Equal(web.Metadata.Uid, (await world.GetAsync("web"))!.Metadata.Uid);
        Assert.Empty(world.Server.Security.Denials);
    }

    // A folder laid out as a reader's clone after following the README: charts/ as it is, crds/ with
    // the static fleet's endpoints edited to its agents (started here), and each provider's token in a file.
    private static async Task<string> CloneAsync(OperatorWorld world)
    {
        var clone = Path.Combine(world.Folder, "clone");
        Directory.CreateDirectory(Path.Combine(clone, "crds", "examples"));
        Directory.CreateSymbolicLink(Path.Combine(clone, "charts"), RepositoryPaths.Of("charts"));
        foreach (var file in Directory.GetFiles(RepositoryPaths.Of("crds"), "*.yaml").Concat(Directory.GetFiles(RepositoryPaths.Of("crds", "examples"), "*.yaml")))
        {
            File.Copy(file, Path.Combine(clone, Path.GetRelativePath(RepositoryPaths.Of("crds", ".."), file)));
        }

        var example = await File.ReadAllTextAsync(Path.Combine(clone, "crds", "examples", "web-service.yaml"));
        var image = (string)YamlJson.Parse(example)!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!;
        var fleetPath = Path.Combine(clone, "crds", "examples", "marketplace-static.yaml");
        var fleet = await File.ReadAllTextAsync(fleetPath);
        var ids = ProviderId().Matches(fleet).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Prices.Length, ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            // Each provider serves the example's image with the test workload, through the process runtime.
            var agent = await AgentProcess.StartAsync(world.Fleet.Directories[i].Data, null, null, "--capacity-cpu", "8", "--capacity-memory", "8192",
                "--pricing-cpu-core-hour", Prices[i], "--runtime-images", $"{image}={AgentProcess.WorkloadProgram}");
            world.Fleet.Agents.Add(agent);
            await File.WriteAllTextAsync(Path.Combine(clone, ids[i]["provider-".Length..] + ".token"), AgentProcess.Token);
        }

        var index = 0;
        var edited = Endpoint().Replace(fleet, m => $"{m.Groups[1].Value}http://127.0.0.1:{world.Fleet.Agents[index++].Port}/");
        Assert.Equal(ids.Count, index);
        await File.WriteAllTextAsync(fleetPath, edited);
        return clone;
    }

    private static async Task<string> RunAsync(OperatorWorld world, string clone, string command)
    {
        var words = DocumentedCommands.Words(command);
        var result = await CommandLine.RunAsync(words[0], words.Skip(1), new CommandOptions
        {
            Environment = new Dictionary<string, string> { ["KUBECONFIG"] = world.KubeconfigPath },
            WorkingDirectory = clone,
            Timeout = TimeSpan.FromMinutes(6),
        });
        Assert.True(result.Exit == 0, $"`{command}` exited with {result.Exit}: {result.Error}\n{result.Output}\noperator log:\n{world.Operator?.Output}");
        return result.Output;
    }

    // What a reader fills in: the deployment's name and a replica count.
    private static string Filled(string command) => Count().Replace(Name().Replace(command, "web"), "=2");

    [GeneratedRegex(@"(?m)^\s*- id: (provider-\w+)$")]
    private static partial Regex ProviderId();

    [GeneratedRegex(@"(?m)^(\s*endpoint: )\S+$")]
    private static partial Regex Endpoint();

    [GeneratedRegex(@"\bNAME\b")]
    private static partial Regex Name();

    [GeneratedRegex(@"=N\b")]
    private static partial Regex Count();
}
