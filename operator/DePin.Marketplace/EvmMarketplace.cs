using System.Globalization;
using System.Numerics;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;

namespace DePin.Marketplace;

/// <summary>
/// The DePinMarket contract on an EVM chain, as the tenant sees it. The order's key becomes its spec
/// hash, so posting again finds the order already on the chain (by the tenant's <c>OrderCreated</c>
/// events) instead of escrowing a second deposit; accepting an order already matched returns its leases;
/// closing a closed lease does nothing.
/// </summary>
public sealed class EvmMarketplace : IMarketplace
{
    private readonly DePinMarketContract _market;
    private readonly Erc20Contract _token;
    private readonly IEthereumClient _client;
    private readonly long _lookbackBlocks;
    private readonly TimeProvider _time;

    /// <summary>Creates the marketplace.</summary>
    /// <param name="market">The contract, bound to the tenant's sender.</param>
    /// <param name="token">The payment token, bound to the same sender.</param>
    /// <param name="lookbackBlocks">How far back to look for an order posted before a restart.</param>
    /// <param name="time">The clock bid deadlines count from when the chain's latest block is older; null for the system clock.</param>
    public EvmMarketplace(DePinMarketContract market, Erc20Contract token, long lookbackBlocks = 50_000, TimeProvider? time = null)
    {
        _market = market ?? throw new ArgumentNullException(nameof(market));
        _token = token ?? throw new ArgumentNullException(nameof(token));
        _client = market.Client;
        _lookbackBlocks = lookbackBlocks;
        _time = time ?? TimeProvider.System;
        Tenant = market.Sender?.From ?? throw new ArgumentException("the market must be bound to the tenant's sender", nameof(market));
    }

    /// <summary>The tenant's address.</summary>
    public Address Tenant { get; }

    /// <summary>The spec hash an order's key is posted under.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Keccak-256 of the key.</returns>
    public static byte[] SpecHash(string key) => Keccak.Hash("depin-order:" + key);

    /// <inheritdoc/>
    public async Task<PostedOrder> PostOrderAsync(OrderSpec order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        var specHash = SpecHash(order.Key);
        if (await FindOrderAsync(specHash, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        var allowance = (BigInteger)(await _token.CallAsync("allowance", [Tenant, _market.Address], cancellationToken).ConfigureAwait(false))[0]!;
        if (allowance < order.Deposit)
        {
            await _token.ApproveAsync(_market.Address, order.Deposit, cancellationToken).ConfigureAwait(false);
        }

        // The block that takes the order is no older than the latest block nor, on a chain that mines only
        // when it has transactions, than the clock: an idle chain's latest block may be older than the bid
        // window, and a deadline counted from it would already be past.
        var latest = (await _client.GetBlockAsync(null, cancellationToken).ConfigureAwait(false))?.Timestamp ?? 0;
        var now = Math.Max(latest, _time.GetUtcNow().ToUnixTimeSeconds());
        var deadline = (ulong)(now + (long)Math.Ceiling(order.BidWindow.TotalSeconds));
        var r = order.Resources;
        var id = await _market.CreateOrderAsync(
            new OrderRequest(_token.Address, specHash, (uint)order.Replicas, order.MaxPricePerHour, deadline, order.Deposit, new OrderResources((uint)r.CpuMillis, (uint)r.MemoryMiB, (uint)r.StorageMiB, (ushort)r.GpuCount, r.GpuModel)),
            cancellationToken).ConfigureAwait(false);
        return new PostedOrder(id.ToString(CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeSeconds((long)deadline));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Offer>> OffersAsync(string orderId, IReadOnlyList<Address> auditors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditors);
        var offers = new List<Offer>();
        foreach (var bidId in await _market.OrderBidsAsync(Parse(orderId), cancellationToken).ConfigureAwait(false))
        {
            var bid = await _market.GetBidAsync(bidId, cancellationToken).ConfigureAwait(false);
            if (bid.State is not (MarketBidState.Open or MarketBidState.Won))
            {
                continue;
            }

            var provider = await _market.GetProviderAsync(bid.Provider, cancellationToken).ConfigureAwait(false);
            var attributesHash = Keccak.Hash(provider.Attributes);
            var vouching = new List<Address>();
            foreach (var auditor in auditors)
            {
                if ((await _market.AttestationAsync(bid.Provider, auditor, cancellationToken).ConfigureAwait(false)).AsSpan().SequenceEqual(attributesHash))
                {
                    vouching.Add(auditor);
                }
            }

            offers.Add(new Offer(Id(bidId), bid.Provider.ToString(), bid.Provider, provider.Endpoint, provider.Region, ParseAttributes(provider.Attributes), bid.PricePerHour, (int)bid.Replicas, vouching));
        }

        return offers;
    }

    /// <summary>Accepts offers; each offer's <see cref="Offer.Replicas"/> is how many replicas are taken from its bid.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="offers">The winning offers, with the replicas each wins.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases.</returns>
    public async Task<IReadOnlyList<LeaseInfo>> AcceptAsync(string orderId, IReadOnlyList<Offer> offers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offers);
        var id = Parse(orderId);
        IReadOnlyList<BigInteger> leaseIds;
        try
        {
            leaseIds = await _market.AcceptAsync(id, [.. offers.Select(o => Parse(o.BidId))], [.. offers.Select(o => (uint)o.Replicas)], cancellationToken).ConfigureAwait(false);
        }
        catch (ContractRevertException e) when (e.ErrorName == "OrderNotOpen")
        {
            // Accepted before, by this operator before a restart or by another replica; a cancelled order has no leases.
            if ((await _market.GetOrderAsync(id, cancellationToken).ConfigureAwait(false)).State != MarketOrderState.Matched)
            {
                throw;
            }

            leaseIds = await _market.OrderLeasesAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var leases = new List<LeaseInfo>();
        foreach (var leaseId in leaseIds)
        {
            leases.Add(await GetLeaseAsync(Id(leaseId), cancellationToken).ConfigureAwait(false) ?? throw new MarketplaceException($"lease {leaseId} of order {orderId} cannot be read back"));
        }

        return leases;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LeaseInfo>> LeasesOfOrderAsync(string orderId, CancellationToken cancellationToken = default)
    {
        var leases = new List<LeaseInfo>();
        foreach (var leaseId in await _market.OrderLeasesAsync(Parse(orderId), cancellationToken).ConfigureAwait(false))
        {
            if (await GetLeaseAsync(Id(leaseId), cancellationToken).ConfigureAwait(false) is { } lease)
            {
                leases.Add(lease);
            }
        }

        return leases;
    }

    /// <inheritdoc/>
    public async Task<LeaseInfo?> GetLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        var id = Parse(leaseId);
        var lease = await _market.GetLeaseAsync(id, cancellationToken).ConfigureAwait(false);
        if (lease.StartedAt == 0)
        {
            return null;
        }

        var balance = await _market.LeaseBalanceAsync(id, cancellationToken).ConfigureAwait(false);
        var provider = await _market.GetProviderAsync(lease.Provider, cancellationToken).ConfigureAwait(false);
        var escrow = new LeaseEscrow(lease.Deposited, balance.Accrued, balance.Remaining, DateTimeOffset.FromUnixTimeSeconds((long)balance.RunsOutAt), balance.State == MarketLeaseState.Insolvent);
        return new LeaseInfo(leaseId, Id(lease.OrderId), lease.Provider.ToString(), provider.Endpoint, lease.RatePerHour / Math.Max(lease.Replicas, 1), (int)lease.Replicas, escrow, lease.Closed);
    }

    /// <inheritdoc/>
    public async Task TopUpAsync(string leaseId, BigInteger amount, CancellationToken cancellationToken = default)
    {
        var allowance = (BigInteger)(await _token.CallAsync("allowance", [Tenant, _market.Address], cancellationToken).ConfigureAwait(false))[0]!;
        if (allowance < amount)
        {
            await _token.ApproveAsync(_market.Address, amount, cancellationToken).ConfigureAwait(false);
        }

        await _market.TopUpAsync(Parse(leaseId), amount, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task CloseLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _market.CloseAsync(Parse(leaseId), cancellationToken).ConfigureAwait(false);
        }
        catch (ContractRevertException e) when (e.ErrorName == "LeaseNotActive")
        {
            // Closed already: by the provider, or by this operator before a restart.
        }

        // A provider that closed first left the refund to be claimed.
        if (await _market.RefundOfAsync(Tenant, _token.Address, cancellationToken).ConfigureAwait(false) > 0)
        {
            await _market.ClaimRefundAsync(_token.Address, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task CancelOrderAsync(string orderId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _market.CancelOrderAsync(Parse(orderId), cancellationToken).ConfigureAwait(false);
        }
        catch (ContractRevertException e) when (e.ErrorName == "OrderNotOpen")
        {
            // Matched or cancelled already.
        }
    }

    /// <summary>Parses <c>k=v,k2=v2</c> attributes as providers register them.</summary>
    /// <param name="attributes">The text.</param>
    /// <returns>The attributes.</returns>
    public static IReadOnlyDictionary<string, string> ParseAttributes(string attributes) =>
        (attributes ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2 && parts[0].Length > 0)
            .GroupBy(parts => parts[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    private static BigInteger Parse(string id) =>
        BigInteger.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw new MarketplaceException($"\"{id}\" is not an id of the DePinMarket contract");

    private static string Id(BigInteger id) => id.ToString(CultureInfo.InvariantCulture);

    private async Task<PostedOrder?> FindOrderAsync(byte[] specHash, CancellationToken cancellationToken)
    {
        var head = await _client.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        var created = _market.Abi.Event("OrderCreated");
        byte[] tenantTopic = [.. new byte[12], .. Tenant.Bytes];
        var logs = await _client.GetLogsAsync(new LogFilter([_market.Address], [[created.Topic.ToArray()], null, [tenantTopic]], Math.Max(0, head - _lookbackBlocks), head), cancellationToken).ConfigureAwait(false);
        foreach (var log in logs.Reverse())
        {
            var values = created.Decode(log.Topics, log.Data);
            if (((byte[])values["specHash"]!).AsSpan().SequenceEqual(specHash))
            {
                var orderId = (BigInteger)values["orderId"]!;
                var order = await _market.GetOrderAsync(orderId, cancellationToken).ConfigureAwait(false);
                if (order.State is MarketOrderState.Open or MarketOrderState.Matched)
                {
                    return new PostedOrder(Id(orderId), DateTimeOffset.FromUnixTimeSeconds((long)order.BidDeadline));
                }
            }
        }

        return null;
    }
}
