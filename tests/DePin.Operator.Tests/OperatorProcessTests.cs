using System.Diagnostics;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>The operator executable as a process against LocalKube.</summary>
public sealed class OperatorProcessTests
{
    [Fact]
    public async Task TheOperator_BecomesReady_AndReconcilesMarketplaces()
    {
        await using var server = await LocalKubeServer.StartAsync(new ServerOptions());
        using var kube = new Kubernetes(new KubernetesClientConfiguration { Host = server.Url.ToString() });
        await ProjectCrds.InstallAsync(kube);
        var directory = Directory.CreateTempSubdirectory("operator-");
        var kubeconfig = Path.Combine(directory.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig());
        var port = AgentProcess.FreePort();
        var start = new ProcessStartInfo("dotnet", [RepositoryPaths.Of("operator", "DePin.Operator", "bin", AgentProcess.Configuration, "net10.0", "depin-operator.dll"), "--listen", $"127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["KUBECONFIG"] = kubeconfig;
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            await Eventually.UntilAsync(async () =>
            {
                try
                {
                    return await http.GetStringAsync($"http://127.0.0.1:{port}/readyz") == "ok";
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30));

            var marketplace = new DePinMarketplace
            {
                Metadata = new V1ObjectMeta { Name = "fleet" },
                Spec = new DePinMarketplaceSpec
                {
                    Type = MarketplaceType.Static,
                    Static = new StaticMarketplaceSpec { Providers = [new Api.V1Alpha1.StaticProvider { Id = "p0", Endpoint = "http://127.0.0.1:1/" }] },
                },
            };
            await kube.CustomObjects.CreateClusterCustomObjectAsync(marketplace, "depin.dev", "v1alpha1", "depinmarketplaces");

            await Eventually.UntilAsync(async () =>
            {
                var stored = KubernetesJson.Deserialize<DePinMarketplace>(KubernetesJson.Serialize(await kube.CustomObjects.GetClusterCustomObjectAsync("depin.dev", "v1alpha1", "depinmarketplaces", "fleet")));
                return stored.Status?.ProvidersKnown == 1 && stored.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
            }, TimeSpan.FromSeconds(30));
            Assert.Contains("depin_controller", await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            directory.Delete(recursive: true);
        }
    }
}
