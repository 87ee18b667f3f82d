using System.Numerics;

namespace DePin.Ethereum.Contracts;

/// <summary>An order's state on the chain.</summary>
public enum MarketOrderState
{
    /// <summary>No such order.</summary>
    None,

    /// <summary>Taking bids.</summary>
    Open,

    /// <summary>Bids accepted; leases exist.</summary>
    Matched,

    /// <summary>Cancelled by its tenant; deposit returned.</summary>
    Cancelled,
}

/// <summary>A bid's state on the chain.</summary>
public enum MarketBidState
{
    /// <summary>No such bid.</summary>
    None,

    /// <summary>Waiting for the tenant.</summary>
    Open,

    /// <summary>Accepted: a lease exists.</summary>
    Won,

    /// <summary>Another bid won or the order was cancelled.</summary>
    Lost,

    /// <summary>Taken back by its provider.</summary>
    Withdrawn,
}

/// <summary>A lease's state on the chain.</summary>
public enum MarketLeaseState
{
    /// <summary>No such lease.</summary>
    None,

    /// <summary>Running and funded.</summary>
    Active,

    /// <summary>Its escrow ran dry; it can only be closed.</summary>
    Insolvent,

    /// <summary>Closed and settled.</summary>
    Closed,
}

/// <summary>What one replica needs, as an order states it.</summary>
/// <param name="CpuMillis">CPU in thousandths of a core.</param>
/// <param name="MemoryMiB">Memory in MiB.</param>
/// <param name="StorageMiB">Disk in MiB.</param>
/// <param name="GpuCount">GPUs.</param>
/// <param name="GpuModel">GPU model, or empty for any.</param>
public sealed record OrderResources(uint CpuMillis, uint MemoryMiB, uint StorageMiB, ushort GpuCount, string GpuModel)
{
    internal object?[] ToAbi() => [CpuMillis, MemoryMiB, StorageMiB, GpuCount, GpuModel];

    internal static OrderResources FromAbi(object?[] v) =>
        new((uint)(BigInteger)v[0]!, (uint)(BigInteger)v[1]!, (uint)(BigInteger)v[2]!, (ushort)(BigInteger)v[3]!, (string)v[4]!);
}

/// <summary>A registered provider.</summary>
/// <param name="Endpoint">Where its agent answers.</param>
/// <param name="Region">Its jurisdiction.</param>
/// <param name="Attributes">Its self-declared attributes.</param>
/// <param name="Active">Whether it takes new orders.</param>
/// <param name="Registered">Whether it is registered at all.</param>
public sealed record MarketProvider(string Endpoint, string Region, string Attributes, bool Active, bool Registered);

/// <summary>A new order.</summary>
/// <param name="Token">The payment token.</param>
/// <param name="SpecHash">Keccak-256 of the workload's specification.</param>
/// <param name="Replicas">Replicas wanted.</param>
/// <param name="MaxPricePerHour">The most paid per replica and hour, in token units.</param>
/// <param name="BidDeadline">The last second (Unix time) a bid is taken.</param>
/// <param name="Deposit">Escrowed now, in token units; the tenant must have approved it.</param>
/// <param name="Resources">What each replica needs.</param>
public sealed record OrderRequest(Address Token, byte[] SpecHash, uint Replicas, BigInteger MaxPricePerHour, ulong BidDeadline, BigInteger Deposit, OrderResources Resources);

/// <summary>An order on the chain.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Tenant">Who posted it.</param>
/// <param name="Token">The payment token.</param>
/// <param name="SpecHash">The workload's specification hash.</param>
/// <param name="Replicas">Replicas wanted.</param>
/// <param name="BidDeadline">The last second a bid is taken.</param>
/// <param name="MaxPricePerHour">The most paid per replica and hour.</param>
/// <param name="Deposit">The escrowed deposit.</param>
/// <param name="State">Its state.</param>
/// <param name="Resources">What each replica needs.</param>
public sealed record MarketOrder(BigInteger Id, Address Tenant, Address Token, byte[] SpecHash, uint Replicas, ulong BidDeadline, BigInteger MaxPricePerHour, BigInteger Deposit, MarketOrderState State, OrderResources Resources);

/// <summary>A bid on the chain.</summary>
/// <param name="Id">Its id.</param>
/// <param name="OrderId">The order.</param>
/// <param name="Provider">The bidder.</param>
/// <param name="PricePerHour">Price per replica and hour.</param>
/// <param name="Replicas">Replicas offered.</param>
/// <param name="State">Its state.</param>
public sealed record MarketBid(BigInteger Id, BigInteger OrderId, Address Provider, BigInteger PricePerHour, uint Replicas, MarketBidState State);

/// <summary>A lease on the chain.</summary>
/// <param name="Id">Its id.</param>
/// <param name="OrderId">The order.</param>
/// <param name="BidId">The winning bid.</param>
/// <param name="Tenant">Who pays.</param>
/// <param name="Provider">Who is paid.</param>
/// <param name="Token">The payment token.</param>
/// <param name="RatePerHour">Price per hour for all its replicas.</param>
/// <param name="Replicas">Replicas it runs.</param>
/// <param name="StartedAt">Unix time it started.</param>
/// <param name="ClosedAt">Unix time it closed, or 0.</param>
/// <param name="Deposited">Escrow put in, top-ups included.</param>
/// <param name="Paid">Withdrawn by the provider.</param>
/// <param name="Closed">Whether it is closed.</param>
public sealed record MarketLease(BigInteger Id, BigInteger OrderId, BigInteger BidId, Address Tenant, Address Provider, Address Token, BigInteger RatePerHour, uint Replicas, ulong StartedAt, ulong ClosedAt, BigInteger Deposited, BigInteger Paid, bool Closed);

/// <summary>A lease's escrow now.</summary>
/// <param name="State">Active, insolvent or closed.</param>
/// <param name="Accrued">Earned by the provider so far.</param>
/// <param name="Withdrawable">Earned and not yet withdrawn.</param>
/// <param name="Remaining">Escrow not yet earned.</param>
/// <param name="RunsOutAt">Unix time the escrow runs dry.</param>
public sealed record LeaseBalance(MarketLeaseState State, BigInteger Accrued, BigInteger Withdrawable, BigInteger Remaining, ulong RunsOutAt);
