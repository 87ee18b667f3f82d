using System.Numerics;
using System.Security.Cryptography;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using DePin.Testing;

namespace DePin.Ethereum.Tests;

/// <summary>One anvil node shared by the tests of the <c>anvil</c> collection; each test uses its own fresh accounts.</summary>
public sealed class AnvilFixture : IAsyncLifetime
{
    private AnvilNode? _node;

    public AnvilNode Node => _node ?? throw new InvalidOperationException(AnvilNode.MissingReason);

    public Chain Chain { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (AnvilNode.MissingReason is null)
        {
            _node = await AnvilNode.StartAsync();
            Chain = await Chain.ConnectAsync(_node.Endpoint);
        }
    }

    public async Task DisposeAsync()
    {
        Chain?.Dispose();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}

[CollectionDefinition("anvil")]
public sealed class AnvilGroup : ICollectionFixture<AnvilFixture>;


/// <summary>The client stack against one node, and helpers to fund accounts and move chain time.</summary>
public sealed class Chain : IDisposable
{
    private Chain(HttpClient http, JsonRpcClient rpc, BigInteger chainId)
    {
        Http = http;
        Rpc = rpc;
        Client = new EthereumClient(rpc);
        Nonces = new NonceManager(Client);
        Fees = new FeeEstimator(Client);
        ChainId = chainId;
    }

    public static readonly JsonRpcOptions FastRetries = new() { BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(500), MaxRetries = 12 };

    public HttpClient Http { get; }

    public JsonRpcClient Rpc { get; }

    public EthereumClient Client { get; }

    public NonceManager Nonces { get; }

    public FeeEstimator Fees { get; }

    public BigInteger ChainId { get; }

    public static async Task<Chain> ConnectAsync(Uri endpoint, HttpMessageHandler? handler = null, JsonRpcOptions? options = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        var rpc = new JsonRpcClient(http, endpoint, options ?? FastRetries);
        var chainId = await new EthereumClient(rpc).ChainIdAsync();
        return new Chain(http, rpc, chainId);
    }

    public static PrivateKey NewKey()
    {
        while (true)
        {
            try
            {
                return new PrivateKey(RandomNumberGenerator.GetBytes(32));
            }
            catch (ArgumentException)
            {
                // Out of the curve's range: astronomically rare, try again.
            }
        }
    }

    public TransactionSender Sender(PrivateKey key, TransactionOptions? options = null) =>
        new(Client, key, ChainId, Nonces, Fees, options ?? new TransactionOptions { PollInterval = TimeSpan.FromMilliseconds(20) });

    /// <summary>A new key with 1,000 ether.</summary>
    public async Task<PrivateKey> FundedKeyAsync()
    {
        var key = NewKey();
        await Rpc.RequestAsync("anvil_setBalance", [key.Address.ToString(), Hex.EncodeQuantity(BigInteger.Pow(10, 21))]);
        return key;
    }

    /// <summary>A sender for a new key with 1,000 ether.</summary>
    public async Task<TransactionSender> FundedSenderAsync() => Sender(await FundedKeyAsync());

    public async Task<long> TimestampAsync() => (await Client.GetBlockAsync(null))!.Timestamp;

    /// <summary>Moves chain time forward and mines a block at the new time.</summary>
    public async Task AdvanceAsync(long seconds)
    {
        await Rpc.RequestAsync("evm_increaseTime", [Hex.EncodeQuantity(seconds)]);
        await Rpc.RequestAsync("evm_mine", []);
    }

    /// <summary>Deploys a contract compiled into contracts/artifacts.</summary>
    public static async Task<Contract> DeployArtifactAsync(TransactionSender sender, string relativePath, params object?[] arguments)
    {
        var artifact = ContractArtifact.Load(RepositoryPaths.Of("contracts", "artifacts", relativePath));
        var (address, _) = await Contract.DeployAsync(artifact, sender, arguments);
        return new Contract(artifact, address, sender.Client, sender);
    }

    public void Dispose() => Http.Dispose();
}
