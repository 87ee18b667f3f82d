using System.Collections.Concurrent;
using System.Numerics;
using System.Text;
using DePin.Api.V1Alpha1;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using DePin.Marketplace;
using k8s;
using k8s.Autorest;

namespace DePin.Operator.Marketplaces;

/// <summary>A marketplace that cannot be used as configured; <see cref="Reason"/> is a CamelCase condition reason.</summary>
internal sealed class MarketplaceConfigurationException : Exception
{
    public MarketplaceConfigurationException()
    {
    }

    public MarketplaceConfigurationException(string message)
        : base(message)
    {
    }

    public MarketplaceConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MarketplaceConfigurationException(string reason, string message)
        : base(message) => Reason = reason;

    public string Reason { get; } = "InvalidSpec";
}

/// <summary>A marketplace the operator can use, and what it observed while connecting.</summary>
/// <param name="Marketplace">The marketplace.</param>
/// <param name="TokenDecimals">Decimals of the payment token (6 for a static fleet, whose prices are plain decimals).</param>
/// <param name="Tenant">The tenant's key (EVM), which signs requests to agents.</param>
/// <param name="BlockHeight">The chain's height (EVM).</param>
/// <param name="Balance">The wallet's token balance (EVM).</param>
/// <param name="Providers">Providers known.</param>
/// <param name="StaticProviders">The fleet (static), to reach each provider's agent.</param>
internal sealed record ConnectedMarketplace(IMarketplace Marketplace, int TokenDecimals, PrivateKey? Tenant, long? BlockHeight, BigInteger? Balance, int Providers, IReadOnlyList<Marketplace.StaticProvider> StaticProviders);

/// <summary>
/// Turns a DePinMarketplace into an <see cref="IMarketplace"/>: reads its Secrets (never logging them),
/// checks the chain id and the contract on an EVM chain, and keeps one nonce manager per wallet so that
/// every controller sending from it shares gap-free nonces.
/// </summary>
internal sealed class MarketplaceConnector(IKubernetes kubernetes, HttpClient http, ILoggerFactory loggers)
{
    private readonly ConcurrentDictionary<string, NonceManager> _nonces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConnectedMarketplace> _connected = new(StringComparer.Ordinal);

    /// <summary>The last successful connection of a marketplace, for the controllers that use it.</summary>
    public ConnectedMarketplace? Get(string name) => _connected.GetValueOrDefault(name);

    public void Forget(string name) => _connected.TryRemove(name, out _);

    /// <summary>The marketplace a resource refers to: the last connection, or a new one from the cached DePinMarketplace.</summary>
    public async Task<ConnectedMarketplace> ForAsync(string name, DePin.Runtime.Informers.InformerCache<DePinMarketplace> marketplaces, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(marketplaces);
        if (Get(name) is { } connected)
        {
            return connected;
        }

        var marketplace = marketplaces.Get(name) ?? throw new MarketplaceConfigurationException("MarketplaceNotFound", $"DePinMarketplace {name} does not exist");
        return await ConnectAsync(marketplace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A client of a provider's agent, with the credentials the marketplace calls for.</summary>
    public static AgentClient Agent(ConnectedMarketplace marketplace, ProviderInfo provider, HttpClient http, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return new AgentClient(http, new Uri(provider.Endpoint), Credentials(marketplace, provider.Id), time);
    }

    /// <summary>How the operator proves itself to a provider's agent: the tenant's signature on a chain, the provider's bearer token in a static fleet.</summary>
    public static AgentCredentials Credentials(ConnectedMarketplace marketplace, string providerId)
    {
        ArgumentNullException.ThrowIfNull(marketplace);
        if (marketplace.Tenant is { } tenant)
        {
            return AgentCredentials.Tenant(tenant);
        }

        var provider = marketplace.StaticProviders.FirstOrDefault(p => p.Id == providerId)
            ?? throw new MarketplaceConfigurationException("ProviderNotFound", $"provider {providerId} is no longer in the marketplace's spec.static.providers");
        return AgentCredentials.Bearer(provider.BearerToken);
    }

    public async Task<ConnectedMarketplace> ConnectAsync(DePinMarketplace marketplace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(marketplace);
        var connected = marketplace.Spec.Type switch
        {
            MarketplaceType.Evm => await ConnectEvmAsync(marketplace.Spec.Evm ?? throw new MarketplaceConfigurationException("InvalidSpec", "spec.evm is required when spec.type is Evm"), cancellationToken).ConfigureAwait(false),
            MarketplaceType.Static => await ConnectStaticAsync(marketplace.Spec.Static ?? throw new MarketplaceConfigurationException("InvalidSpec", "spec.static is required when spec.type is Static"), cancellationToken).ConfigureAwait(false),
            _ => throw new MarketplaceConfigurationException("InvalidSpec", $"spec.type {marketplace.Spec.Type} is not supported"),
        };
        _connected[marketplace.Metadata.Name] = connected;
        return connected;
    }

    private async Task<ConnectedMarketplace> ConnectEvmAsync(EvmMarketplaceSpec spec, CancellationToken cancellationToken)
    {
        var key = await SecretAsync(spec.WalletSecretRef, "spec.evm.walletSecretRef", cancellationToken).ConfigureAwait(false);
        PrivateKey wallet;
        try
        {
            wallet = PrivateKey.FromHex(key);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new MarketplaceConfigurationException("InvalidWallet", $"spec.evm.walletSecretRef: the Secret's key {spec.WalletSecretRef.Key} does not hold a private key (64 hex digits)");
        }

        var market = Parse(spec.ContractAddress, "spec.evm.contractAddress");
        var tokenAddress = Parse(spec.PaymentToken, "spec.evm.paymentToken");
        if (!Uri.TryCreate(spec.RpcUrl, UriKind.Absolute, out var rpcUrl) || rpcUrl.Scheme is not ("http" or "https"))
        {
            // The URL may carry an API key: name the field, not its value.
            throw new MarketplaceConfigurationException("InvalidSpec", "spec.evm.rpcUrl is not an absolute http or https URL");
        }

        var rpc = new JsonRpcClient(http, rpcUrl, null, loggers.CreateLogger<JsonRpcClient>());
        var client = new EthereumClient(rpc);
        var chainId = await client.ChainIdAsync(cancellationToken).ConfigureAwait(false);
        if (chainId != spec.ChainId)
        {
            throw new MarketplaceConfigurationException("ChainIdMismatch", $"spec.evm.chainId is {spec.ChainId}, but the node at {rpc.Endpoint} serves chain {chainId}");
        }

        foreach (var (address, field) in new[] { (market, "spec.evm.contractAddress"), (tokenAddress, "spec.evm.paymentToken") })
        {
            var code = await rpc.RequestAsync("eth_getCode", [address.ToString(), "latest"], cancellationToken).ConfigureAwait(false);
            if (code.GetString() is null or "0x")
            {
                throw new MarketplaceConfigurationException("ContractNotFound", $"{field}: there is no contract at {address} on chain {chainId}");
            }
        }

        var nonces = _nonces.GetOrAdd($"{spec.RpcUrl}|{wallet.Address}", _ => new NonceManager(client));
        var sender = new TransactionSender(client, wallet, chainId, nonces, new FeeEstimator(client), null, loggers.CreateLogger<TransactionSender>());
        var contract = new DePinMarketContract(market, client, sender) { Confirmations = Math.Max(1, spec.Confirmations) };
        var token = new Erc20Contract(tokenAddress, client, sender) { Confirmations = Math.Max(1, spec.Confirmations) };
        var decimals = await token.DecimalsAsync(cancellationToken).ConfigureAwait(false);
        var balance = await token.BalanceOfAsync(wallet.Address, cancellationToken).ConfigureAwait(false);
        var height = await client.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        return new ConnectedMarketplace(new EvmMarketplace(contract, token), decimals, wallet, height, balance, 0, []);
    }

    private async Task<ConnectedMarketplace> ConnectStaticAsync(StaticMarketplaceSpec spec, CancellationToken cancellationToken)
    {
        var providers = new List<Marketplace.StaticProvider>();
        for (var i = 0; i < spec.Providers.Count; i++)
        {
            var provider = spec.Providers[i];
            var field = $"spec.static.providers[{i}]";
            if (!Uri.TryCreate(provider.Endpoint, UriKind.Absolute, out var endpoint))
            {
                throw new MarketplaceConfigurationException("InvalidSpec", $"{field}.endpoint \"{provider.Endpoint}\" is not an absolute URL");
            }

            var token = provider.AuthSecretRef is { } reference ? await SecretAsync(reference, field + ".authSecretRef", cancellationToken).ConfigureAwait(false) : "";
            providers.Add(new Marketplace.StaticProvider(provider.Id, endpoint, provider.Region ?? "", new Dictionary<string, string>(provider.Attributes ?? new Dictionary<string, string>(), StringComparer.Ordinal), token));
        }

        return new ConnectedMarketplace(new StaticMarketplace(http, providers), 6, null, null, null, providers.Count, providers);
    }

    private static Address Parse(string address, string field)
    {
        try
        {
            return Address.Parse(address);
        }
        catch (FormatException e)
        {
            throw new MarketplaceConfigurationException("InvalidSpec", $"{field}: {e.Message}");
        }
    }

    private async Task<string> SecretAsync(SecretKeyReference reference, string field, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(reference.Namespace))
        {
            throw new MarketplaceConfigurationException("InvalidSpec", $"{field}.namespace is required: a DePinMarketplace is cluster-scoped");
        }

        k8s.Models.V1Secret secret;
        try
        {
            secret = await kubernetes.CoreV1.ReadNamespacedSecretAsync(reference.Name, reference.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new MarketplaceConfigurationException("SecretNotFound", $"{field}: Secret {reference.Namespace}/{reference.Name} does not exist");
        }

        if (secret.Data?.TryGetValue(reference.Key, out var value) != true || value is null || value.Length == 0)
        {
            throw new MarketplaceConfigurationException("SecretKeyNotFound", $"{field}: Secret {reference.Namespace}/{reference.Name} has no key {reference.Key}");
        }

        return Encoding.UTF8.GetString(value).Trim();
    }
}
