using System.Numerics;
using System.Text.Json;

namespace DePin.Ethereum.Rpc;

/// <summary>A message call for <c>eth_call</c> and <c>eth_estimateGas</c>.</summary>
/// <param name="From">The sender, or null.</param>
/// <param name="To">The contract, or null for a deployment.</param>
/// <param name="Data">Call data.</param>
/// <param name="Value">Wei sent.</param>
public sealed record CallRequest(Address? From, Address? To, byte[] Data, BigInteger Value = default);

/// <summary>A block header, as much of it as the client uses.</summary>
/// <param name="Number">The height.</param>
/// <param name="Hash">The block hash.</param>
/// <param name="ParentHash">The parent's hash.</param>
/// <param name="Timestamp">Seconds since the epoch.</param>
/// <param name="BaseFeePerGas">The EIP-1559 base fee, or null before London.</param>
public sealed record BlockHeader(long Number, string Hash, string ParentHash, long Timestamp, BigInteger? BaseFeePerGas);

/// <summary>An event log.</summary>
/// <param name="Address">The contract that emitted it.</param>
/// <param name="Topics">Its topics.</param>
/// <param name="Data">Its data.</param>
/// <param name="BlockNumber">The block.</param>
/// <param name="BlockHash">The block's hash.</param>
/// <param name="TransactionHash">The transaction.</param>
/// <param name="LogIndex">Its index in the block.</param>
/// <param name="Removed">Whether a reorganisation removed it.</param>
public sealed record LogEntry(Address Address, IReadOnlyList<byte[]> Topics, byte[] Data, long BlockNumber, string BlockHash, string TransactionHash, long LogIndex, bool Removed);

/// <summary>A transaction receipt.</summary>
/// <param name="TransactionHash">The transaction.</param>
/// <param name="BlockNumber">The block that holds it.</param>
/// <param name="BlockHash">That block's hash.</param>
/// <param name="Succeeded">Status 1; false when it reverted.</param>
/// <param name="GasUsed">Gas used.</param>
/// <param name="EffectiveGasPrice">Price paid per gas.</param>
/// <param name="ContractAddress">The created contract, for a deployment.</param>
/// <param name="Logs">The logs emitted.</param>
public sealed record TransactionReceipt(string TransactionHash, long BlockNumber, string BlockHash, bool Succeeded, BigInteger GasUsed, BigInteger EffectiveGasPrice, Address? ContractAddress, IReadOnlyList<LogEntry> Logs);

/// <summary>The answer of <c>eth_feeHistory</c>.</summary>
/// <param name="OldestBlock">The first block covered.</param>
/// <param name="BaseFeePerGas">Base fees of the blocks, plus that of the next block last.</param>
/// <param name="Rewards">Per block, the priority fees at the requested percentiles.</param>
public sealed record FeeHistory(long OldestBlock, IReadOnlyList<BigInteger> BaseFeePerGas, IReadOnlyList<IReadOnlyList<BigInteger>> Rewards);

/// <summary>A log query.</summary>
/// <param name="Addresses">Contracts to read, or empty for all.</param>
/// <param name="Topics">Per position, the accepted topics (null accepts any).</param>
/// <param name="FromBlock">The first block.</param>
/// <param name="ToBlock">The last block.</param>
public sealed record LogFilter(IReadOnlyList<Address> Addresses, IReadOnlyList<IReadOnlyList<byte[]>?> Topics, long FromBlock, long ToBlock);

/// <summary>Reads JSON-RPC values.</summary>
internal static class RpcJson
{
    public static BigInteger Quantity(JsonElement element) => Hex.DecodeQuantity(element.GetString() ?? throw new FormatException("a quantity is missing"));

    public static long Long(JsonElement element) => (long)Quantity(element);

    public static BigInteger? OptionalQuantity(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Quantity(value) : null;

    public static string String(JsonElement element, string name) => element.GetProperty(name).GetString() ?? throw new FormatException($"{name} is missing");

    public static byte[] Bytes(JsonElement element) => Hex.Decode(element.GetString() ?? "0x");

    public static BlockHeader Block(JsonElement element) => new(
        Long(element.GetProperty("number")),
        String(element, "hash"),
        String(element, "parentHash"),
        Long(element.GetProperty("timestamp")),
        OptionalQuantity(element, "baseFeePerGas"));

    public static LogEntry Log(JsonElement element) => new(
        Address.Parse(String(element, "address").ToLowerInvariant()),
        [.. element.GetProperty("topics").EnumerateArray().Select(Bytes)],
        Bytes(element.GetProperty("data")),
        Long(element.GetProperty("blockNumber")),
        String(element, "blockHash"),
        String(element, "transactionHash"),
        Long(element.GetProperty("logIndex")),
        element.TryGetProperty("removed", out var removed) && removed.ValueKind == JsonValueKind.True);

    public static TransactionReceipt Receipt(JsonElement element) => new(
        String(element, "transactionHash"),
        Long(element.GetProperty("blockNumber")),
        String(element, "blockHash"),
        OptionalQuantity(element, "status") == BigInteger.One,
        Quantity(element.GetProperty("gasUsed")),
        OptionalQuantity(element, "effectiveGasPrice") ?? BigInteger.Zero,
        element.TryGetProperty("contractAddress", out var created) && created.ValueKind == JsonValueKind.String ? Address.Parse(created.GetString()!.ToLowerInvariant()) : null,
        [.. element.GetProperty("logs").EnumerateArray().Select(Log)]);
}
