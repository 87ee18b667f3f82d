using System.Globalization;
using System.Numerics;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;

namespace DePin.Testing;

/// <summary>
/// anvil with the TestStablecoin and the DePinMarket deployed by its first account, and helpers to
/// act as its other accounts and to start provider agents against it. Account 1 is the tenant.
/// </summary>
public sealed class MarketChain : IAsyncDisposable
{
    /// <summary>One token (6 decimals), in token units.</summary>
    public const long Unit = 1_000_000;

    private MarketChain(AnvilNode node, HttpClient http, EthereumClient client, BigInteger chainId)
    {
        Node = node;
        Http = http;
        Client = client;
        ChainId = chainId;
        Nonces = new NonceManager(client);
        Fees = new FeeEstimator(client);
    }

    /// <summary>The node.</summary>
    public AnvilNode Node { get; }

    /// <summary>The HTTP client of the chain's clients.</summary>
    public HttpClient Http { get; }

    /// <summary>The node's typed client.</summary>
    public EthereumClient Client { get; }

    /// <summary>The chain id.</summary>
    public BigInteger ChainId { get; }

    /// <summary>Nonces of every sender made here.</summary>
    public NonceManager Nonces { get; }

    /// <summary>Fees of every sender made here.</summary>
    public FeeEstimator Fees { get; }

    /// <summary>The payment token, bound to its deployer.</summary>
    public Erc20Contract Token { get; private set; } = null!;

    /// <summary>The market, bound to its deployer.</summary>
    public DePinMarketContract Market { get; private set; } = null!;

    /// <summary>The tenant: anvil's account 1.</summary>
    public TransactionSender Tenant => Sender(1);

    /// <summary>Starts anvil and deploys the token and the market.</summary>
    /// <returns>The chain.</returns>
    public static async Task<MarketChain> StartAsync()
    {
        var node = await AnvilNode.StartAsync().ConfigureAwait(false);
        var http = new HttpClient();
        var client = new EthereumClient(new JsonRpcClient(http, node.Endpoint));
        var chain = new MarketChain(node, http, client, await client.ChainIdAsync().ConfigureAwait(false));
        var owner = chain.Sender(0);
        chain.Token = await Erc20Contract.DeployTestStablecoinAsync(owner).ConfigureAwait(false);
        chain.Market = await DePinMarketContract.DeployAsync(owner).ConfigureAwait(false);
        return chain;
    }

    /// <summary>The key of one of anvil's accounts.</summary>
    /// <param name="account">0 to 9.</param>
    /// <returns>The key.</returns>
    public PrivateKey Key(int account) => PrivateKey.FromHex(Node.PrivateKeys[account]);

    /// <summary>A sender for one of anvil's accounts.</summary>
    /// <param name="account">0 to 9.</param>
    /// <returns>The sender.</returns>
    public TransactionSender Sender(int account) =>
        new(Client, Key(account), ChainId, Nonces, Fees, new TransactionOptions { PollInterval = TimeSpan.FromMilliseconds(20) });

    /// <summary>The chain's current time.</summary>
    /// <returns>Unix seconds of the latest block.</returns>
    public async Task<long> NowAsync() => (await Client.GetBlockAsync(null).ConfigureAwait(false))!.Timestamp;

    /// <summary>Moves chain time forward and mines a block.</summary>
    /// <param name="seconds">How far.</param>
    /// <returns>A task.</returns>
    public async Task AdvanceAsync(long seconds)
    {
        await Client.Rpc.RequestAsync("evm_increaseTime", [Hex.EncodeQuantity(seconds)]).ConfigureAwait(false);
        await Client.Rpc.RequestAsync("evm_mine", []).ConfigureAwait(false);
    }

    /// <summary>Starts a provider agent in evm mode as anvil's account <paramref name="account"/>, and waits until it has registered.</summary>
    /// <param name="directory">Its folder.</param>
    /// <param name="account">Its anvil account.</param>
    /// <param name="extra">More flags.</param>
    /// <returns>The agent.</returns>
    public async Task<AgentProcess> StartAgentAsync(AgentDirectory directory, int account, params string[] extra)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var port = AgentProcess.FreePort();
        var agent = await AgentProcess.StartAsync(directory.Data, port, Node.PrivateKeys[account][2..], AgentArguments(port, extra)).ConfigureAwait(false);
        var address = Key(account).Address;
        await Eventually.UntilAsync(async () => (await Market.GetProviderAsync(address).ConfigureAwait(false)).Registered, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        return agent;
    }

    /// <summary>The flags of an agent in evm mode on this chain, listening on <paramref name="port"/>.</summary>
    /// <param name="port">Its port.</param>
    /// <param name="extra">More flags.</param>
    /// <returns>The flags.</returns>
    public string[] AgentArguments(int port, params string[] extra) =>
    [
        "--mode", "evm", "--evm-rpc-url", Node.Endpoint.ToString(), "--evm-market-address", Market.Address.ToString(),
        "--evm-endpoint", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--evm-poll-interval", "200ms",
        .. extra,
    ];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync().ConfigureAwait(false);
    }
}
