using System.Numerics;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;

namespace DePin.Ethereum.Contracts;

/// <summary>The DePinMarket contract (<c>contracts/DePinMarket.sol</c>), typed.</summary>
public sealed class DePinMarketContract : Contract
{
    /// <summary>Binds the market at an address.</summary>
    /// <param name="address">Its address.</param>
    /// <param name="client">The node.</param>
    /// <param name="sender">Signs transactions; null for read-only use.</param>
    public DePinMarketContract(Address address, IEthereumClient client, TransactionSender? sender)
        : base(Compiled, address, client, sender)
    {
    }

    /// <summary>The compiled contract embedded in this assembly.</summary>
    public static ContractArtifact Compiled { get; } = ContractArtifact.Embedded("DePinMarket");

    /// <summary>Deploys a market.</summary>
    /// <param name="sender">Pays for the deployment.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The market, bound to <paramref name="sender"/>.</returns>
    public static async Task<DePinMarketContract> DeployAsync(TransactionSender sender, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var (address, _) = await DeployAsync(Compiled, sender, [], cancellationToken).ConfigureAwait(false);
        return new DePinMarketContract(address, sender.Client, sender);
    }

    /// <summary>The same market with another signer.</summary>
    /// <param name="sender">The signer.</param>
    /// <returns>The binding.</returns>
    public DePinMarketContract As(TransactionSender sender) => new(Address, Client, sender) { Confirmations = Confirmations };

    // ------------------------------------------------------------------ providers

    /// <summary>Registers the sender as a provider.</summary>
    /// <param name="endpoint">Where its agent answers.</param>
    /// <param name="region">Its jurisdiction.</param>
    /// <param name="attributes">Its attributes.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> RegisterProviderAsync(string endpoint, string region, string attributes, CancellationToken cancellationToken = default) =>
        SendAsync("registerProvider", [endpoint, region, attributes], cancellationToken);

    /// <summary>Changes the sender's provider record.</summary>
    /// <param name="endpoint">Where its agent answers.</param>
    /// <param name="region">Its jurisdiction.</param>
    /// <param name="attributes">Its attributes.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> UpdateProviderAsync(string endpoint, string region, string attributes, CancellationToken cancellationToken = default) =>
        SendAsync("updateProvider", [endpoint, region, attributes], cancellationToken);

    /// <summary>Starts or stops taking new orders.</summary>
    /// <param name="active">Whether to take them.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> SetProviderActiveAsync(bool active, CancellationToken cancellationToken = default) =>
        SendAsync("setProviderActive", [active], cancellationToken);

    /// <summary>Vouches, as auditor, for a provider's attributes.</summary>
    /// <param name="provider">The provider.</param>
    /// <param name="attributesHash">Keccak-256 of the attributes vouched for.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> AttestProviderAsync(Address provider, byte[] attributesHash, CancellationToken cancellationToken = default) =>
        SendAsync("attestProvider", [provider, attributesHash], cancellationToken);

    /// <summary>Reads a provider.</summary>
    /// <param name="provider">The provider.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>Its record; <see cref="MarketProvider.Registered"/> is false for a stranger.</returns>
    public async Task<MarketProvider> GetProviderAsync(Address provider, CancellationToken cancellationToken = default)
    {
        var v = Tuple(await CallAsync("getProvider", [provider], cancellationToken).ConfigureAwait(false));
        return new MarketProvider((string)v[0]!, (string)v[1]!, (string)v[2]!, (bool)v[3]!, (bool)v[4]!);
    }

    /// <summary>Reads what an auditor vouched for.</summary>
    /// <param name="provider">The provider.</param>
    /// <param name="auditor">The auditor.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The attested attributes hash, all zero if none.</returns>
    public async Task<byte[]> AttestationAsync(Address provider, Address auditor, CancellationToken cancellationToken = default) =>
        (byte[])(await CallAsync("attestation", [provider, auditor], cancellationToken).ConfigureAwait(false))[0]!;

    // ------------------------------------------------------------------ orders and bids

    /// <summary>Posts an order and escrows its deposit.</summary>
    /// <param name="order">The order.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The new order's id.</returns>
    public async Task<BigInteger> CreateOrderAsync(OrderRequest order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        var receipt = await SendAsync(
            "createOrder",
            [order.Token, order.SpecHash, order.Replicas, order.MaxPricePerHour, order.BidDeadline, order.Deposit, order.Resources.ToAbi()],
            cancellationToken).ConfigureAwait(false);
        return (BigInteger)Events(receipt, "OrderCreated").Single()["orderId"]!;
    }

    /// <summary>Cancels an open order and returns its deposit.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> CancelOrderAsync(BigInteger orderId, CancellationToken cancellationToken = default) =>
        SendAsync("cancelOrder", [orderId], cancellationToken);

    /// <summary>Bids on an order.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="pricePerHour">Price per replica and hour.</param>
    /// <param name="replicas">Replicas offered.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The bid's id.</returns>
    public async Task<BigInteger> BidAsync(BigInteger orderId, BigInteger pricePerHour, uint replicas, CancellationToken cancellationToken = default)
    {
        var receipt = await SendAsync("bid", [orderId, pricePerHour, replicas], cancellationToken).ConfigureAwait(false);
        return (BigInteger)Events(receipt, "BidPlaced").Single()["bidId"]!;
    }

    /// <summary>Takes back an open bid.</summary>
    /// <param name="bidId">The bid.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> WithdrawBidAsync(BigInteger bidId, CancellationToken cancellationToken = default) =>
        SendAsync("withdrawBid", [bidId], cancellationToken);

    /// <summary>Accepts bids; each becomes a lease.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="bidIds">The bids.</param>
    /// <param name="replicas">Replicas taken from each bid (1 to what it offered), adding up to the order's; null to take each bid whole.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The leases' ids, in the order of <paramref name="bidIds"/>.</returns>
    public async Task<IReadOnlyList<BigInteger>> AcceptAsync(BigInteger orderId, IReadOnlyList<BigInteger> bidIds, IReadOnlyList<uint>? replicas = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bidIds);
        if (replicas is null)
        {
            var whole = new List<uint>();
            foreach (var bidId in bidIds)
            {
                whole.Add((await GetBidAsync(bidId, cancellationToken).ConfigureAwait(false)).Replicas);
            }

            replicas = whole;
        }

        var receipt = await SendAsync("accept", [orderId, bidIds.Cast<object?>().ToArray(), replicas.Cast<object?>().ToArray()], cancellationToken).ConfigureAwait(false);
        return [.. Events(receipt, "LeaseCreated").Select(e => (BigInteger)e["leaseId"]!)];
    }

    /// <summary>Reads an order.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The order; <see cref="MarketOrderState.None"/> if there is none.</returns>
    public async Task<MarketOrder> GetOrderAsync(BigInteger orderId, CancellationToken cancellationToken = default)
    {
        var v = Tuple(await CallAsync("getOrder", [orderId], cancellationToken).ConfigureAwait(false));
        return new MarketOrder(orderId, (Address)v[0]!, (Address)v[1]!, (byte[])v[2]!, U32(v[3]), U64(v[4]), (BigInteger)v[5]!, (BigInteger)v[6]!, (MarketOrderState)U32(v[7]), OrderResources.FromAbi((object?[])v[8]!));
    }

    /// <summary>Reads a bid.</summary>
    /// <param name="bidId">The bid.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The bid; <see cref="MarketBidState.None"/> if there is none.</returns>
    public async Task<MarketBid> GetBidAsync(BigInteger bidId, CancellationToken cancellationToken = default)
    {
        var v = Tuple(await CallAsync("getBid", [bidId], cancellationToken).ConfigureAwait(false));
        return new MarketBid(bidId, (BigInteger)v[0]!, (Address)v[1]!, (BigInteger)v[2]!, U32(v[3]), (MarketBidState)U32(v[4]));
    }

    /// <summary>The bids on an order, oldest first.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>Their ids.</returns>
    public async Task<IReadOnlyList<BigInteger>> OrderBidsAsync(BigInteger orderId, CancellationToken cancellationToken = default) =>
        Ids(await CallAsync("orderBids", [orderId], cancellationToken).ConfigureAwait(false));

    /// <summary>The leases of an order.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>Their ids.</returns>
    public async Task<IReadOnlyList<BigInteger>> OrderLeasesAsync(BigInteger orderId, CancellationToken cancellationToken = default) =>
        Ids(await CallAsync("orderLeases", [orderId], cancellationToken).ConfigureAwait(false));

    // ------------------------------------------------------------------ leases

    /// <summary>Adds to a lease's escrow; the tenant must have approved the amount.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> TopUpAsync(BigInteger leaseId, BigInteger amount, CancellationToken cancellationToken = default) =>
        SendAsync("topUp", [leaseId, amount], cancellationToken);

    /// <summary>The provider takes what has accrued.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The amount paid.</returns>
    public async Task<BigInteger> WithdrawAsync(BigInteger leaseId, CancellationToken cancellationToken = default)
    {
        var receipt = await SendAsync("withdraw", [leaseId], cancellationToken).ConfigureAwait(false);
        return (BigInteger)Events(receipt, "EarningsWithdrawn").Single()["amount"]!;
    }

    /// <summary>Closes a lease and settles it.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> CloseAsync(BigInteger leaseId, CancellationToken cancellationToken = default) =>
        SendAsync("close", [leaseId], cancellationToken);

    /// <summary>The tenant collects refunds of leases that providers closed.</summary>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The receipt.</returns>
    public Task<TransactionReceipt> ClaimRefundAsync(Address token, CancellationToken cancellationToken = default) =>
        SendAsync("claimRefund", [token], cancellationToken);

    /// <summary>Reads a lease.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The lease; <see cref="MarketLease.StartedAt"/> is 0 if there is none.</returns>
    public async Task<MarketLease> GetLeaseAsync(BigInteger leaseId, CancellationToken cancellationToken = default)
    {
        var v = Tuple(await CallAsync("getLease", [leaseId], cancellationToken).ConfigureAwait(false));
        return new MarketLease(leaseId, (BigInteger)v[0]!, (BigInteger)v[1]!, (Address)v[2]!, (Address)v[3]!, (Address)v[4]!, (BigInteger)v[5]!, U32(v[6]), U64(v[7]), U64(v[8]), (BigInteger)v[9]!, (BigInteger)v[10]!, (bool)v[11]!);
    }

    /// <summary>Reads a lease's escrow now.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>The balance.</returns>
    public async Task<LeaseBalance> LeaseBalanceAsync(BigInteger leaseId, CancellationToken cancellationToken = default)
    {
        var v = Tuple(await CallAsync("leaseBalance", [leaseId], cancellationToken).ConfigureAwait(false));
        return new LeaseBalance((MarketLeaseState)U32(v[0]), (BigInteger)v[1]!, (BigInteger)v[2]!, (BigInteger)v[3]!, U64(v[4]));
    }

    /// <summary>Refunds waiting for a tenant.</summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <returns>Token units.</returns>
    public async Task<BigInteger> RefundOfAsync(Address tenant, Address token, CancellationToken cancellationToken = default) =>
        (BigInteger)(await CallAsync("refundOf", [tenant, token], cancellationToken).ConfigureAwait(false))[0]!;

    private static object?[] Tuple(object?[] outputs) => (object?[])outputs[0]!;

    private static uint U32(object? value) => (uint)(BigInteger)value!;

    private static ulong U64(object? value) => (ulong)(BigInteger)value!;

    private static List<BigInteger> Ids(object?[] outputs) => [.. ((object?[])outputs[0]!).Select(v => (BigInteger)v!)];
}
