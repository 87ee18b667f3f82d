using System.Text;
using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>A provider of a static fleet for a test: its id, region and price of a CPU core per hour.</summary>
internal sealed record TestProvider(string Id, string Region, string CpuCoreHour);

/// <summary>
/// LocalKube with simulated cloud nodes and the CRDs, provider agents as processes, a DePinMarketplace
/// for them, and the operator as a process: the whole product on loopback ports chosen at run time.
/// </summary>
internal sealed class OperatorWorld : IAsyncDisposable
{
    private readonly DirectoryInfo _directory;

    private OperatorWorld(LocalKubeServer server, DirectoryInfo directory, AgentFleet fleet)
    {
        Server = server;
        _directory = directory;
        Fleet = fleet;
        KubeconfigPath = Path.Combine(directory.FullName, "kubeconfig");
        File.WriteAllText(KubeconfigPath, server.Kubeconfig(), Encoding.UTF8);
        // With RBAC on, the kubeconfig carries the administrator's token and the server's CA.
        Kube = new Kubernetes(server.Security.Enabled ? KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath) : new KubernetesClientConfiguration { Host = server.Url.ToString() });
    }

    public LocalKubeServer Server { get; }

    public Kubernetes Kube { get; }

    public AgentFleet Fleet { get; }

    public string KubeconfigPath { get; }

    public OperatorProcess? Operator { get; private set; }

    public MarketChain? Chain { get; private set; }

    /// <summary>In an EVM world, the proxy through which the operator (and only the operator) reaches anvil.</summary>
    public RpcFaultProxy? Rpc { get; private set; }

    /// <summary>A world with a static fleet named <c>depin-static</c>, as the examples use.</summary>
    public static async Task<OperatorWorld> StartStaticAsync(params TestProvider[] providers)
    {
        var world = await PrepareStaticAsync(new ServerOptions { CloudNodes = new() { Count = 2 } }, providers).ConfigureAwait(false);
        try
        {
            await world.StartOperatorAsync().ConfigureAwait(false);
            return world;
        }
        catch
        {
            await world.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Everything of <see cref="StartStaticAsync"/> but the operator, on a server with these options.</summary>
    public static async Task<OperatorWorld> PrepareStaticAsync(ServerOptions options, params TestProvider[] providers)
    {
        var world = await CreateAsync(providers.Length, null, options).ConfigureAwait(false);
        try
        {
            await world.Kube.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "fleet-token" },
                StringData = new Dictionary<string, string> { ["token"] = AgentProcess.Token },
            }, "depin-system").ConfigureAwait(false);
            var entries = new List<Api.V1Alpha1.StaticProvider>();
            for (var i = 0; i < providers.Length; i++)
            {
                var agent = await AgentProcess.StartAsync(world.Fleet.Directories[i].Data, null, null, "--capacity-cpu", "8", "--capacity-memory", "8192", "--pricing-cpu-core-hour", providers[i].CpuCoreHour).ConfigureAwait(false);
                world.Fleet.Agents.Add(agent);
                entries.Add(new Api.V1Alpha1.StaticProvider
                {
                    Id = providers[i].Id,
                    Endpoint = $"http://127.0.0.1:{agent.Port}/",
                    Region = providers[i].Region,
                    AuthSecretRef = new SecretKeyReference { Name = "fleet-token", Namespace = "depin-system", Key = "token" },
                });
            }

            await world.Kube.CustomObjects.CreateClusterCustomObjectAsync(new DePinMarketplace
            {
                Metadata = new V1ObjectMeta { Name = "depin-static" },
                Spec = new DePinMarketplaceSpec { Type = MarketplaceType.Static, Static = new StaticMarketplaceSpec { Providers = entries } },
            }, "depin.dev", "v1alpha1", "depinmarketplaces").ConfigureAwait(false);
            return world;
        }
        catch
        {
            await world.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A world with anvil, the market contract and agents bidding on it; the marketplace is named <c>depin-evm</c>.</summary>
    public static async Task<OperatorWorld> StartEvmAsync(params TestProvider[] providers)
    {
        var chain = await MarketChain.StartAsync().ConfigureAwait(false);
        var world = await CreateAsync(providers.Length, chain, new ServerOptions { CloudNodes = new() { Count = 2 } }).ConfigureAwait(false);
        try
        {
            // The tenant (account 1) holds tokens to escrow; each provider is an account of its own.
            await chain.Token.MintAsync(chain.Key(1).Address, 1_000_000 * MarketChain.Unit).ConfigureAwait(false);
            for (var i = 0; i < providers.Length; i++)
            {
                var agent = await chain.StartAgentAsync(world.Fleet.Directories[i], 2 + i, "--capacity-cpu", "8", "--capacity-memory", "8192", "--pricing-cpu-core-hour", providers[i].CpuCoreHour, "--evm-region", providers[i].Region).ConfigureAwait(false);
                world.Fleet.Agents.Add(agent);
            }

            world.Rpc = await RpcFaultProxy.StartAsync(chain.Node.Endpoint).ConfigureAwait(false);
            await world.Kube.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "tenant-wallet" },
                StringData = new Dictionary<string, string> { ["key"] = chain.Node.PrivateKeys[1] },
            }, "depin-system").ConfigureAwait(false);
            await world.Kube.CustomObjects.CreateClusterCustomObjectAsync(new DePinMarketplace
            {
                Metadata = new V1ObjectMeta { Name = "depin-evm" },
                Spec = new DePinMarketplaceSpec
                {
                    Type = MarketplaceType.Evm,
                    Evm = new EvmMarketplaceSpec
                    {
                        RpcUrl = world.Rpc.Url.ToString(),
                        ChainId = (long)chain.ChainId,
                        ContractAddress = chain.Market.Address.ToString(),
                        PaymentToken = chain.Token.Address.ToString(),
                        WalletSecretRef = new SecretKeyReference { Name = "tenant-wallet", Namespace = "depin-system", Key = "key" },
                        PollIntervalSeconds = 1,
                    },
                },
            }, "depin.dev", "v1alpha1", "depinmarketplaces").ConfigureAwait(false);
            await world.StartOperatorAsync().ConfigureAwait(false);
            return world;
        }
        catch
        {
            await world.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The web-service example from crds/examples, with its container running the test workload as a process.</summary>
    public static DePinDeployment WebServiceExample(string? name = null, string marketplace = "depin-static")
    {
        var json = YamlJson.Parse(File.ReadAllText(RepositoryPaths.Of("crds", "examples", "web-service.yaml")))!;
        var deployment = KubernetesJson.Deserialize<DePinDeployment>(json.ToJsonString());
        deployment.Metadata.Name = name ?? deployment.Metadata.Name;
        deployment.Spec.MarketplaceRef.Name = marketplace;
        deployment.Spec.Bidding.BidWindowSeconds = 1;
        var container = deployment.Spec.Template.Spec.Containers[0];
        container.Command = ["dotnet", AgentProcess.WorkloadDll, "$(PORT)", "0"];
        return deployment;
    }

    /// <summary>The web-service example with one replica and no per-provider limit, so that it goes to the cheapest provider.</summary>
    public static DePinDeployment OneReplicaExample(string name, string marketplace = "depin-static")
    {
        var deployment = WebServiceExample(name, marketplace);
        deployment.Spec.Replicas = 1;
        deployment.Spec.Placement.MaxReplicasPerProvider = null;
        return deployment;
    }

    public async Task StartOperatorAsync()
    {
        Operator = await OperatorProcess.StartAsync(KubeconfigPath).ConfigureAwait(false);
    }

    /// <summary>Starts the operator with another kubeconfig (another user's token) and more arguments.</summary>
    public async Task StartOperatorAsync(string kubeconfig, params string[] extra)
    {
        Operator = await OperatorProcess.StartAsync(kubeconfig, extra).ConfigureAwait(false);
    }

    /// <summary>Starts the operator without waiting for it to become ready.</summary>
    public void LaunchOperator(string kubeconfig, params string[] extra)
    {
        Operator = OperatorProcess.Launch(kubeconfig, extra);
    }

    /// <summary>The world's folder, deleted with it.</summary>
    public string Folder => _directory.FullName;

    /// <summary>Writes a file (a kubeconfig, a manifest) into the world's folder and returns its path.</summary>
    public string WriteFile(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text, Encoding.UTF8);
        return path;
    }

    public async Task RestartOperatorAsync()
    {
        if (Operator is not null)
        {
            await Operator.KillAsync().ConfigureAwait(false);
            await Operator.DisposeAsync().ConfigureAwait(false);
        }

        await StartOperatorAsync().ConfigureAwait(false);
    }

    public Task CreateAsync(DePinDeployment deployment) =>
        Kube.CustomObjects.CreateNamespacedCustomObjectAsync(deployment, "depin.dev", "v1alpha1", deployment.Metadata.NamespaceProperty ?? "default", "depindeployments");

    public async Task<DePinDeployment?> GetAsync(string name, string ns = "default")
    {
        try
        {
            return KubernetesJson.Deserialize<DePinDeployment>(KubernetesJson.Serialize(await Kube.CustomObjects.GetNamespacedCustomObjectAsync("depin.dev", "v1alpha1", ns, "depindeployments", name).ConfigureAwait(false)));
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<DePinLease>> LeasesAsync(string ns = "default")
    {
        var list = await Kube.CustomObjects.ListNamespacedCustomObjectAsync("depin.dev", "v1alpha1", ns, "depinleases").ConfigureAwait(false);
        return JsonNode.Parse(KubernetesJson.Serialize(list))!["items"]!.AsArray().Select(i => KubernetesJson.Deserialize<DePinLease>(i!.ToJsonString())).ToList();
    }

    public Task DeleteAsync(string name, string ns = "default") =>
        Kube.CustomObjects.DeleteNamespacedCustomObjectAsync("depin.dev", "v1alpha1", ns, "depindeployments", name);

    /// <summary>Waits for a deployment to satisfy a condition, showing its status and the operator's log when it does not.</summary>
    public async Task<DePinDeployment> WaitAsync(string name, Func<DePinDeployment, bool> condition, TimeSpan? timeout = null, string ns = "default")
    {
        DePinDeployment? last = null;
        try
        {
            await Eventually.UntilAsync(async () => (last = await GetAsync(name, ns).ConfigureAwait(false)) is { } d && condition(d), timeout ?? TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"deployment {name} did not get there; last status: {KubernetesJson.Serialize(last?.Status)}\noperator log:\n{OperatorLog}");
        }

        return last!;
    }

    /// <summary>Waits for a condition, showing the operator's log when it does not hold in time.</summary>
    public async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        try
        {
            await Eventually.UntilAsync(condition, timeout ?? TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{what} did not happen; objects:\n{await DumpAsync().ConfigureAwait(false)}\noperator log:\n{OperatorLog}");
        }
    }

    /// <summary>Runs the real kubectl against the world's kubeconfig.</summary>
    public Task<string> KubectlAsync(params string[] arguments) =>
        CommandLine.OutputOfAsync("kubectl", arguments, new CommandOptions { Environment = new Dictionary<string, string> { ["KUBECONFIG"] = KubeconfigPath } });

    public async ValueTask DisposeAsync()
    {
        if (Operator is not null)
        {
            await Operator.DisposeAsync().ConfigureAwait(false);
        }

        await Fleet.DisposeAsync().ConfigureAwait(false);
        Kube.Dispose();
        await Server.DisposeAsync().ConfigureAwait(false);
        if (Rpc is not null)
        {
            await Rpc.DisposeAsync().ConfigureAwait(false);
        }

        if (Chain is not null)
        {
            await Chain.DisposeAsync().ConfigureAwait(false);
        }

        _directory.Delete(recursive: true);
    }

    /// <summary>The end of what the operator printed, for a failure message.</summary>
    public string OperatorLog => Tail(Operator?.Output);

    /// <summary>The operator's objects as YAML, for a failure message.</summary>
    public async Task<string> DumpAsync()
    {
        try
        {
            return await KubectlAsync("get", "dpd,dpl,pods,nodes,events", "-A", "-o", "yaml").ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    private static string Tail(string? text) => text is null ? "" : text.Length > 20_000 ? text[^20_000..] : text;

    /// <summary>LocalKube alone, without the CRDs or the operator's namespace, and folders for this many agents, which the test starts.</summary>
    public static async Task<OperatorWorld> PrepareBareAsync(ServerOptions options, int agents)
    {
        var server = await LocalKubeServer.StartAsync(options).ConfigureAwait(false);
        return new OperatorWorld(server, Directory.CreateTempSubdirectory("operator-world-"), new AgentFleet(agents));
    }

    private static async Task<OperatorWorld> CreateAsync(int agents, MarketChain? chain, ServerOptions options)
    {
        var world = await PrepareBareAsync(options, agents).ConfigureAwait(false);
        world.Chain = chain;
        await ProjectCrds.InstallAsync(world.Kube).ConfigureAwait(false);
        await world.Kube.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "depin-system" } }).ConfigureAwait(false);
        return world;
    }
}
