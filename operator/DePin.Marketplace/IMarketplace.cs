using System.Numerics;
using DePin.Ethereum;

namespace DePin.Marketplace;

/// <summary>What one replica needs.</summary>
/// <param name="CpuMillis">CPU in thousandths of a core.</param>
/// <param name="MemoryMiB">Memory.</param>
/// <param name="StorageMiB">Disk.</param>
/// <param name="GpuCount">GPUs.</param>
/// <param name="GpuModel">GPU model, or empty for any.</param>
public sealed record ReplicaResources(long CpuMillis, long MemoryMiB, long StorageMiB, int GpuCount = 0, string GpuModel = "");

/// <summary>An order to post.</summary>
/// <param name="Key">
/// Identifies the order across retries and restarts (for example the deployment's uid and a counter):
/// posting again with the same key finds the order already posted instead of posting a second one.
/// </param>
/// <param name="Replicas">Replicas wanted.</param>
/// <param name="MaxPricePerHour">The most paid per replica and hour, in payment-token units.</param>
/// <param name="BidWindow">How long bids are taken.</param>
/// <param name="Deposit">Escrow put down with the order, in token units (ignored by a static marketplace).</param>
/// <param name="Resources">What each replica needs.</param>
public sealed record OrderSpec(string Key, int Replicas, BigInteger MaxPricePerHour, TimeSpan BidWindow, BigInteger Deposit, ReplicaResources Resources);

/// <summary>A posted order.</summary>
/// <param name="OrderId">Its id in the marketplace.</param>
/// <param name="BidDeadline">When bidding ends.</param>
public sealed record PostedOrder(string OrderId, DateTimeOffset BidDeadline);

/// <summary>A provider's offer for an order.</summary>
/// <param name="BidId">The bid's id in the marketplace.</param>
/// <param name="ProviderId">A stable provider id: its address on a chain, its configured id in a static list.</param>
/// <param name="ProviderAddress">Its address, which signs its heartbeats.</param>
/// <param name="Endpoint">Where its agent answers.</param>
/// <param name="Region">Its jurisdiction.</param>
/// <param name="Attributes">Its attributes.</param>
/// <param name="PricePerHour">Price per replica and hour, in token units.</param>
/// <param name="Replicas">Replicas offered.</param>
/// <param name="Auditors">The auditors (of those asked about) whose attestation matches its current attributes.</param>
public sealed record Offer(string BidId, string ProviderId, Address? ProviderAddress, string Endpoint, string Region, IReadOnlyDictionary<string, string> Attributes, BigInteger PricePerHour, int Replicas, IReadOnlyList<Address> Auditors);

/// <summary>A lease's escrow.</summary>
/// <param name="Deposited">Put in, top-ups included.</param>
/// <param name="Accrued">Earned by the provider so far.</param>
/// <param name="Remaining">Not yet earned.</param>
/// <param name="RunsOutAt">When it runs dry.</param>
/// <param name="Insolvent">Whether it has run dry.</param>
public sealed record LeaseEscrow(BigInteger Deposited, BigInteger Accrued, BigInteger Remaining, DateTimeOffset RunsOutAt, bool Insolvent);

/// <summary>A lease in the marketplace.</summary>
/// <param name="LeaseId">Its id.</param>
/// <param name="OrderId">Its order.</param>
/// <param name="ProviderId">Its provider.</param>
/// <param name="Endpoint">Where the provider's agent answers.</param>
/// <param name="PricePerHour">Price per replica and hour.</param>
/// <param name="Replicas">Replicas it runs.</param>
/// <param name="Escrow">Its escrow, where the marketplace has one.</param>
/// <param name="Closed">Whether it is closed.</param>
public sealed record LeaseInfo(string LeaseId, string OrderId, string ProviderId, string Endpoint, BigInteger PricePerHour, int Replicas, LeaseEscrow? Escrow, bool Closed);

/// <summary>
/// A decentralized compute marketplace, with the chain (or the provider list) hidden behind it. Every
/// operation that changes something can be repeated safely: posting with the same key, accepting an
/// order already matched, closing a lease already closed.
/// </summary>
public interface IMarketplace
{
    /// <summary>Posts an order, or finds the one already posted under the same key.</summary>
    /// <param name="order">The order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The order.</returns>
    Task<PostedOrder> PostOrderAsync(OrderSpec order, CancellationToken cancellationToken = default);

    /// <summary>The offers an order has received so far.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="auditors">Auditors whose attestations to look up.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The offers.</returns>
    Task<IReadOnlyList<Offer>> OffersAsync(string orderId, IReadOnlyList<Address> auditors, CancellationToken cancellationToken = default);

    /// <summary>Accepts offers whose replicas add up to the order's; each becomes a lease. Accepting again returns the leases already made.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="offers">The winning offers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases.</returns>
    Task<IReadOnlyList<LeaseInfo>> AcceptAsync(string orderId, IReadOnlyList<Offer> offers, CancellationToken cancellationToken = default);

    /// <summary>The leases an order was matched with, closed ones included; none when it is open or cancelled.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases.</returns>
    Task<IReadOnlyList<LeaseInfo>> LeasesOfOrderAsync(string orderId, CancellationToken cancellationToken = default);

    /// <summary>Reads a lease.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lease, or null when the marketplace does not know it.</returns>
    Task<LeaseInfo?> GetLeaseAsync(string leaseId, CancellationToken cancellationToken = default);

    /// <summary>Adds to a lease's escrow.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task TopUpAsync(string leaseId, BigInteger amount, CancellationToken cancellationToken = default);

    /// <summary>Closes a lease and settles it; a lease already closed is left as it is.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task CloseLeaseAsync(string leaseId, CancellationToken cancellationToken = default);

    /// <summary>Withdraws an order that has not been matched; its deposit returns.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    Task CancelOrderAsync(string orderId, CancellationToken cancellationToken = default);
}
