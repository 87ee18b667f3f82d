using System.Text;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Operator.Controllers;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using DePin.Testing;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Operator.Tests;

/// <summary>The DePinMarketplace controller against LocalKube, anvil and agents.</summary>
public sealed class MarketplaceControllerTests : IAsyncLifetime
{
    private const long Unit = 1_000_000;
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new();
    private LocalKubeServer _server = null!;
    private Kubernetes _kube = null!;
    private Task _running = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync(new ServerOptions());
        _kube = new Kubernetes(new KubernetesClientConfiguration { Host = _server.Url.ToString() });
        await ProjectCrds.InstallAsync(_kube);
        await _kube.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "depin-system" } });
        var api = ResourceApi.Custom<DePinMarketplace>(_kube);
        var informer = new Informer<DePinMarketplace>(api, new InformerOptions { Name = "depinmarketplaces" });
        var reconciler = new MarketplaceReconciler(new MarketplaceConnector(_kube, _http, NullLoggerFactory.Instance), new StatusWriter<DePinMarketplace>(api), TimeProvider.System, NullLogger<MarketplaceReconciler>.Instance);
        var controller = new Controller<DePinMarketplace>(informer, api, reconciler, new ControllerOptions { Name = "depinmarketplace.status" });
        _running = Task.WhenAll(Task.Run(() => informer.RunAsync(_stop.Token)), Task.Run(async () =>
        {
            await informer.Synced.WaitAsync(_stop.Token);
            await controller.RunAsync(_stop.Token);
        }));
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        _kube.Dispose();
        await _server.DisposeAsync();
        _http.Dispose();
        _stop.Dispose();
    }

    [AnvilFact]
    public async Task AnEvmMarketplace_ReportsItsWallet_Balance_AndHeight_OrWhatIsWrong()
    {
        await using var chain = await MarketChain.StartAsync();
        var (node, token, market, chainId) = (chain.Node, chain.Token, chain.Market, chain.ChainId);
        var wallet = chain.Key(1);
        await token.MintAsync(wallet.Address, 1_234_500_000);
        await SecretAsync("wallet", "key", node.PrivateKeys[1]);
        EvmMarketplaceSpec Spec(long chain, string secret) => new()
        {
            RpcUrl = node.Endpoint.ToString(),
            ChainId = chain,
            ContractAddress = market.Address.ToString(),
            PaymentToken = token.Address.ToString(),
            WalletSecretRef = new SecretKeyReference { Name = secret, Namespace = "depin-system", Key = "key" },
            PollIntervalSeconds = 1,
        };

        await CreateAsync("chain", new DePinMarketplaceSpec { Type = MarketplaceType.Evm, Evm = Spec((long)chainId, "wallet") });
        await CreateAsync("wrong-chain", new DePinMarketplaceSpec { Type = MarketplaceType.Evm, Evm = Spec(1, "wallet") });
        await CreateAsync("no-secret", new DePinMarketplaceSpec { Type = MarketplaceType.Evm, Evm = Spec((long)chainId, "missing") });
        var badUrl = Spec((long)chainId, "wallet");
        badUrl.RpcUrl = "http://[SECRET-KEY"; // passes the CRD pattern, is no URL
        await CreateAsync("bad-url", new DePinMarketplaceSpec { Type = MarketplaceType.Evm, Evm = badUrl });

        var ready = await WaitForReadyAsync("chain", "True");
        Assert.Equal(wallet.Address.ToString(), ready.Status!.WalletAddress);
        Assert.Equal("1234.5", ready.Status.Balance);
        Assert.True(ready.Status.BlockHeight > 0);
        Assert.Equal(ready.Metadata.Generation, ready.Status.ObservedGeneration);

        var wrong = Ready(await WaitForReadyAsync("wrong-chain", "False"));
        Assert.Equal("ChainIdMismatch", wrong.Reason);
        Assert.Contains("spec.evm.chainId is 1", wrong.Message, StringComparison.Ordinal);

        var missing = Ready(await WaitForReadyAsync("no-secret", "False"));
        Assert.Equal("SecretNotFound", missing.Reason);
        Assert.Contains("depin-system/missing", missing.Message, StringComparison.Ordinal);
        var invalidUrl = Ready(await WaitForReadyAsync("bad-url", "False"));
        Assert.Equal("InvalidSpec", invalidUrl.Reason);
        Assert.Equal("spec.evm.rpcUrl is not an absolute http or https URL", invalidUrl.Message);
        Assert.DoesNotContain("SECRET", KubernetesJson.Serialize((await GetAsync("bad-url")).Status), StringComparison.Ordinal);
        Assert.DoesNotContain(node.PrivateKeys[1][2..], KubernetesJson.Serialize(await GetAsync("chain")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AStaticMarketplace_CountsItsProviders()
    {
        await SecretAsync("fleet-token", "token", AgentProcess.Token);
        var providers = Enumerable.Range(0, 3).Select(i => new Api.V1Alpha1.StaticProvider
        {
            Id = $"p{i}",
            Endpoint = $"http://127.0.0.1:{AgentProcess.FreePort()}/",
            Region = "eu-central",
            AuthSecretRef = new SecretKeyReference { Name = "fleet-token", Namespace = "depin-system", Key = "token" },
        }).ToList();
        await CreateAsync("fleet", new DePinMarketplaceSpec { Type = MarketplaceType.Static, Static = new StaticMarketplaceSpec { Providers = providers } });
        providers[1].AuthSecretRef = new SecretKeyReference { Name = "fleet-token", Key = "token" };
        await CreateAsync("no-namespace", new DePinMarketplaceSpec { Type = MarketplaceType.Static, Static = new StaticMarketplaceSpec { Providers = providers } });

        Assert.Equal(3, (await WaitForReadyAsync("fleet", "True")).Status!.ProvidersKnown);
        var invalid = Ready(await WaitForReadyAsync("no-namespace", "False"));
        Assert.Equal("InvalidSpec", invalid.Reason);
        Assert.Contains("spec.static.providers[1].authSecretRef.namespace is required", invalid.Message, StringComparison.Ordinal);
    }

    private static V1Condition Ready(DePinMarketplace marketplace) => marketplace.Status!.Conditions!.Single(c => c.Type == "Ready");

    private async Task SecretAsync(string name, string key, string value) =>
        await _kube.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(value) } }, "depin-system");

    private async Task CreateAsync(string name, DePinMarketplaceSpec spec) =>
        await _kube.CustomObjects.CreateClusterCustomObjectAsync(new DePinMarketplace { Metadata = new V1ObjectMeta { Name = name }, Spec = spec }, "depin.dev", "v1alpha1", "depinmarketplaces");

    private async Task<DePinMarketplace> GetAsync(string name) =>
        KubernetesJson.Deserialize<DePinMarketplace>(KubernetesJson.Serialize(await _kube.CustomObjects.GetClusterCustomObjectAsync("depin.dev", "v1alpha1", "depinmarketplaces", name)));

    private async Task<DePinMarketplace> WaitForReadyAsync(string name, string status)
    {
        DePinMarketplace? last = null;
        await Eventually.UntilAsync(async () =>
        {
            last = await GetAsync(name);
            return last.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == status) == true;
        }, TimeSpan.FromSeconds(30));
        return last!;
    }
}
