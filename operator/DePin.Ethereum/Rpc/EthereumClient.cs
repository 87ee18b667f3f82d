using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DePin.Ethereum.Rpc;

/// <summary>The Ethereum node calls the project uses, typed.</summary>
public interface IEthereumClient
{
    /// <summary>The JSON-RPC transport, for methods without a typed form.</summary>
    IJsonRpcClient Rpc { get; }

    /// <summary><c>eth_chainId</c>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The chain id.</returns>
    Task<BigInteger> ChainIdAsync(CancellationToken cancellationToken = default);

    /// <summary><c>eth_blockNumber</c>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The latest block's height.</returns>
    Task<long> BlockNumberAsync(CancellationToken cancellationToken = default);

    /// <summary><c>eth_getBlockByNumber</c> without transactions.</summary>
    /// <param name="number">The height, or null for the latest block.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The header, or null when there is no such block.</returns>
    Task<BlockHeader?> GetBlockAsync(long? number, CancellationToken cancellationToken = default);

    /// <summary><c>eth_getBalance</c> at the latest block.</summary>
    /// <param name="address">The account.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Wei.</returns>
    Task<BigInteger> GetBalanceAsync(Address address, CancellationToken cancellationToken = default);

    /// <summary><c>eth_getTransactionCount</c>.</summary>
    /// <param name="address">The account.</param>
    /// <param name="pending">Count pending transactions too.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The next nonce.</returns>
    Task<BigInteger> GetTransactionCountAsync(Address address, bool pending, CancellationToken cancellationToken = default);

    /// <summary><c>eth_call</c>.</summary>
    /// <param name="request">The call.</param>
    /// <param name="blockNumber">The block to run it on, or null for the latest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The return data.</returns>
    /// <exception cref="JsonRpcException">The call reverted (<see cref="JsonRpcException.IsRevert"/>).</exception>
    Task<byte[]> CallAsync(CallRequest request, long? blockNumber = null, CancellationToken cancellationToken = default);

    /// <summary><c>eth_estimateGas</c>.</summary>
    /// <param name="request">The call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The gas it needs.</returns>
    /// <exception cref="JsonRpcException">The call would revert.</exception>
    Task<BigInteger> EstimateGasAsync(CallRequest request, CancellationToken cancellationToken = default);

    /// <summary><c>eth_sendRawTransaction</c>.</summary>
    /// <param name="raw">The signed transaction.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The transaction hash.</returns>
    Task<string> SendRawTransactionAsync(byte[] raw, CancellationToken cancellationToken = default);

    /// <summary><c>eth_getTransactionReceipt</c>.</summary>
    /// <param name="hash">The transaction hash.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The receipt, or null while it is not mined.</returns>
    Task<TransactionReceipt?> GetTransactionReceiptAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>Whether the node knows the transaction at all, mined or pending (<c>eth_getTransactionByHash</c>).</summary>
    /// <param name="hash">The transaction hash.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when it does.</returns>
    Task<bool> IsTransactionKnownAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary><c>eth_getLogs</c>.</summary>
    /// <param name="filter">The query.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The logs in block order.</returns>
    Task<IReadOnlyList<LogEntry>> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default);

    /// <summary><c>eth_feeHistory</c> up to the latest block.</summary>
    /// <param name="blockCount">How many blocks.</param>
    /// <param name="percentiles">Priority-fee percentiles to report.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The history.</returns>
    Task<FeeHistory> FeeHistoryAsync(int blockCount, IReadOnlyList<double> percentiles, CancellationToken cancellationToken = default);

    /// <summary><c>eth_gasPrice</c>, for chains without EIP-1559.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Wei per gas.</returns>
    Task<BigInteger> GasPriceAsync(CancellationToken cancellationToken = default);
}

/// <summary>The typed calls over a <see cref="IJsonRpcClient"/>.</summary>
/// <param name="rpc">The transport.</param>
public sealed class EthereumClient(IJsonRpcClient rpc) : IEthereumClient
{
    /// <inheritdoc/>
    public IJsonRpcClient Rpc { get; } = rpc ?? throw new ArgumentNullException(nameof(rpc));

    /// <inheritdoc/>
    public async Task<BigInteger> ChainIdAsync(CancellationToken cancellationToken = default) =>
        RpcJson.Quantity(await Rpc.RequestAsync("eth_chainId", [], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<long> BlockNumberAsync(CancellationToken cancellationToken = default) =>
        RpcJson.Long(await Rpc.RequestAsync("eth_blockNumber", [], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<BlockHeader?> GetBlockAsync(long? number, CancellationToken cancellationToken = default)
    {
        var result = await Rpc.RequestAsync("eth_getBlockByNumber", [Block(number), false], cancellationToken).ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.Null ? null : RpcJson.Block(result);
    }

    /// <inheritdoc/>
    public async Task<BigInteger> GetBalanceAsync(Address address, CancellationToken cancellationToken = default) =>
        RpcJson.Quantity(await Rpc.RequestAsync("eth_getBalance", [address.ToString(), "latest"], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<BigInteger> GetTransactionCountAsync(Address address, bool pending, CancellationToken cancellationToken = default) =>
        RpcJson.Quantity(await Rpc.RequestAsync("eth_getTransactionCount", [address.ToString(), pending ? "pending" : "latest"], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<byte[]> CallAsync(CallRequest request, long? blockNumber = null, CancellationToken cancellationToken = default) =>
        RpcJson.Bytes(await Rpc.RequestAsync("eth_call", [Call(request), Block(blockNumber)], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<BigInteger> EstimateGasAsync(CallRequest request, CancellationToken cancellationToken = default) =>
        RpcJson.Quantity(await Rpc.RequestAsync("eth_estimateGas", [Call(request)], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async Task<string> SendRawTransactionAsync(byte[] raw, CancellationToken cancellationToken = default) =>
        (await Rpc.RequestAsync("eth_sendRawTransaction", [Hex.Encode(raw)], cancellationToken).ConfigureAwait(false)).GetString()
        ?? throw new FormatException("eth_sendRawTransaction returned no hash");

    /// <inheritdoc/>
    public async Task<TransactionReceipt?> GetTransactionReceiptAsync(string hash, CancellationToken cancellationToken = default)
    {
        var result = await Rpc.RequestAsync("eth_getTransactionReceipt", [hash], cancellationToken).ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.Null ? null : RpcJson.Receipt(result);
    }

    /// <inheritdoc/>
    public async Task<bool> IsTransactionKnownAsync(string hash, CancellationToken cancellationToken = default) =>
        (await Rpc.RequestAsync("eth_getTransactionByHash", [hash], cancellationToken).ConfigureAwait(false)).ValueKind != JsonValueKind.Null;

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LogEntry>> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var query = new JsonObject
        {
            ["fromBlock"] = Hex.EncodeQuantity(filter.FromBlock),
            ["toBlock"] = Hex.EncodeQuantity(filter.ToBlock),
        };
        if (filter.Addresses.Count > 0)
        {
            query["address"] = new JsonArray([.. filter.Addresses.Select(a => (JsonNode)JsonValue.Create(a.ToString()))]);
        }

        query["topics"] = new JsonArray([.. filter.Topics.Select(options => options is null
            ? null
            : (JsonNode)new JsonArray([.. options.Select(t => (JsonNode)JsonValue.Create(Hex.Encode(t)))]))]);
        var result = await Rpc.RequestAsync("eth_getLogs", [query], cancellationToken).ConfigureAwait(false);
        return [.. result.EnumerateArray().Select(RpcJson.Log)];
    }

    /// <inheritdoc/>
    public async Task<FeeHistory> FeeHistoryAsync(int blockCount, IReadOnlyList<double> percentiles, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(percentiles);
        var result = await Rpc.RequestAsync(
            "eth_feeHistory",
            [Hex.EncodeQuantity(blockCount), "latest", new JsonArray([.. percentiles.Select(p => (JsonNode)JsonValue.Create(p))])],
            cancellationToken).ConfigureAwait(false);
        var rewards = result.TryGetProperty("reward", out var reward) && reward.ValueKind == JsonValueKind.Array
            ? [.. reward.EnumerateArray().Select(r => (IReadOnlyList<BigInteger>)[.. r.EnumerateArray().Select(RpcJson.Quantity)])]
            : new List<IReadOnlyList<BigInteger>>();
        var baseFees = result.TryGetProperty("baseFeePerGas", out var fees) && fees.ValueKind == JsonValueKind.Array
            ? [.. fees.EnumerateArray().Select(RpcJson.Quantity)]
            : new List<BigInteger>();
        return new FeeHistory(RpcJson.Long(result.GetProperty("oldestBlock")), baseFees, rewards);
    }

    /// <inheritdoc/>
    public async Task<BigInteger> GasPriceAsync(CancellationToken cancellationToken = default) =>
        RpcJson.Quantity(await Rpc.RequestAsync("eth_gasPrice", [], cancellationToken).ConfigureAwait(false));

    private static string Block(long? number) => number is { } n ? Hex.EncodeQuantity(n) : "latest";

    private static JsonObject Call(CallRequest call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var result = new JsonObject { ["data"] = Hex.Encode(call.Data) };
        if (call.From is { } from)
        {
            result["from"] = from.ToString();
        }

        if (call.To is { } to)
        {
            result["to"] = to.ToString();
        }

        if (!call.Value.IsZero)
        {
            result["value"] = Hex.EncodeQuantity(call.Value);
        }

        return result;
    }
}
