using System.Globalization;
using System.Numerics;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pods;
using DePin.ProviderAgent.Pricing;
using DePin.ProviderAgent.State;

namespace DePin.ProviderAgent.Market;

/// <summary>A bid of this agent that holds capacity until it wins, loses or expires.</summary>
internal sealed record OpenBid(string BidId, string OrderId, long Replicas, ResourceRequest PerReplica, ulong BidDeadline);

/// <summary>Where the agent has read the chain up to.</summary>
internal sealed record MarketCursor(long NextBlock);

/// <summary>
/// Takes part in the DePinMarket contract (evm mode): registers or updates the provider record, follows
/// the contract's events from a remembered block, bids on orders that fit and pay at least the cost,
/// holds capacity while a bid is open and releases it when the bid is lost or expires, turns won bids
/// into leases, withdraws earnings on a schedule, closes leases whose escrow ran dry, and drops the pods
/// of leases that were closed. The cursor is saved only after the events before it were handled, and
/// every handler can run twice, so a crash never skips an event.
/// </summary>
internal sealed partial class MarketParticipant : BackgroundService
{
    private const string BidsDocument = "market-bids";
    private const string CursorDocument = "market-cursor";
    private static readonly string[] FollowedEvents = ["OrderCreated", "BidLost", "LeaseCreated", "LeaseClosed"];

    private readonly AgentOptions _options;
    private readonly PrivateKey _key;
    private readonly StateStore _store;
    private readonly CapacityLedger _ledger;
    private readonly PodManager _pods;
    private readonly PricingStrategy _pricing;
    private readonly AgentMetrics _metrics;
    private readonly ILogger<MarketParticipant> _logger;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, OpenBid> _bids = new(StringComparer.Ordinal);

    public MarketParticipant(AgentOptions options, PrivateKey key, StateStore store, CapacityLedger ledger, PodManager pods, PricingStrategy pricing, AgentMetrics metrics, ILogger<MarketParticipant> logger, ILoggerFactory loggers, TimeProvider time)
    {
        _options = options;
        _key = key;
        _store = store;
        _ledger = ledger;
        _pods = pods;
        _pricing = pricing;
        _metrics = metrics;
        _logger = logger;
        _loggers = loggers;
        _time = time;
        foreach (var bid in store.ReadDocument<List<OpenBid>>(BidsDocument) ?? [])
        {
            _bids[bid.BidId] = bid;
            _ledger.TryReserve(BidHolder(bid.BidId), bid.PerReplica.Times(bid.Replicas));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = new HttpClient();
        var rpc = new JsonRpcClient(http, new Uri(_options.RpcUrl!), null, _loggers.CreateLogger<JsonRpcClient>(), _time);
        var client = new EthereumClient(rpc);
        DePinMarketContract market;
        LogScanner scanner;
        while (true)
        {
            try
            {
                var chainId = await client.ChainIdAsync(stoppingToken).ConfigureAwait(false);
                var sender = new TransactionSender(client, _key, chainId, new NonceManager(client), new FeeEstimator(client), null, _loggers.CreateLogger<TransactionSender>(), _time);
                market = new DePinMarketContract(Address.Parse(_options.MarketAddress!), client, sender) { Confirmations = Math.Max(1, _options.Confirmations) };
                await RegisterAsync(market, stoppingToken).ConfigureAwait(false);
                var cursor = _store.ReadDocument<MarketCursor>(CursorDocument) ?? new MarketCursor(_options.StartBlock);
                scanner = new LogScanner(client, new LogScannerOptions
                {
                    Addresses = [market.Address],
                    Topics = [[.. FollowedEvents.Select(e => market.Abi.Event(e).Topic.ToArray())]],
                    Confirmations = _options.Confirmations,
                }, cursor.NextBlock);
                break;
            }
            catch (Exception e) when (e is HttpRequestException or JsonRpcException or ContractRevertException or TimeoutException)
            {
                LogChainUnavailable(_logger, e.Message);
                await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
            }
        }

        // Settle at once on start: leases closed while the agent was down lose their pods now.
        var lastHousekeeping = _time.GetTimestamp();
        var settled = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var batch = await scanner.PollAsync(stoppingToken).ConfigureAwait(false);
                var chainTime = (await client.GetBlockAsync(null, stoppingToken).ConfigureAwait(false))?.Timestamp ?? _time.GetUtcNow().ToUnixTimeSeconds();
                foreach (var log in batch.Final)
                {
                    await HandleAsync(market, log, chainTime, stoppingToken).ConfigureAwait(false);
                }

                _store.WriteDocument(CursorDocument, new MarketCursor(batch.NextBlock));
                await ExpireBidsAsync(market, chainTime, stoppingToken).ConfigureAwait(false);
                if (!settled || _time.GetElapsedTime(lastHousekeeping) >= _options.WithdrawInterval)
                {
                    settled = true;
                    lastHousekeeping = _time.GetTimestamp();
                    await SettleLeasesAsync(market, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonRpcException or ContractRevertException or TimeoutException or TransactionFailedException or ChainReorganizedException)
            {
                LogRoundFailed(_logger, e.Message);
            }

            await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
        }
    }

    private static string BidHolder(string bidId) => "bid:" + bidId;

    private static string Id(object? value) => ((BigInteger)value!).ToString(CultureInfo.InvariantCulture);

    private async Task RegisterAsync(DePinMarketContract market, CancellationToken cancellationToken)
    {
        var record = await market.GetProviderAsync(_key.Address, cancellationToken).ConfigureAwait(false);
        if (!record.Registered)
        {
            await market.RegisterProviderAsync(_options.Endpoint, _options.Region, _options.Attributes, cancellationToken).ConfigureAwait(false);
            LogRegistered(_logger, _key.Address, _options.Endpoint);
            return;
        }

        if (record.Endpoint != _options.Endpoint || record.Region != _options.Region || record.Attributes != _options.Attributes)
        {
            await market.UpdateProviderAsync(_options.Endpoint, _options.Region, _options.Attributes, cancellationToken).ConfigureAwait(false);
        }

        if (!record.Active)
        {
            await market.SetProviderActiveAsync(true, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(DePinMarketContract market, LogEntry log, long chainTime, CancellationToken cancellationToken)
    {
        var abi = market.Abi.EventByTopic(log.Topics[0]);
        if (abi is null)
        {
            return;
        }

        var values = abi.Decode(log.Topics, log.Data);
        switch (abi.Name)
        {
            case "OrderCreated":
                await BidOnAsync(market, (BigInteger)values["orderId"]!, chainTime, cancellationToken).ConfigureAwait(false);
                break;
            case "BidLost":
                Forget(Id(values["bidId"]), "lost");
                break;
            case "LeaseCreated" when (Address)values["provider"]! == _key.Address:
                await StartLeaseAsync(market, Id(values["leaseId"]), Id(values["bidId"]), (Address)values["tenant"]!, cancellationToken).ConfigureAwait(false);
                break;
            case "LeaseClosed" when _pods.Lease(Id(values["leaseId"])) is not null:
                await _pods.RemoveLeaseAsync(Id(values["leaseId"]), cancellationToken).ConfigureAwait(false);
                break;
            default:
                break;
        }
    }

    private async Task BidOnAsync(DePinMarketContract market, BigInteger orderId, long chainTime, CancellationToken cancellationToken)
    {
        var order = await market.GetOrderAsync(orderId, cancellationToken).ConfigureAwait(false);
        if (order.State != MarketOrderState.Open || (long)order.BidDeadline < chainTime || _bids.Values.Any(b => b.OrderId == Id(orderId)))
        {
            return;
        }

        if (!string.IsNullOrEmpty(_options.PaymentToken) && order.Token != Address.Parse(_options.PaymentToken))
        {
            LogWrongToken(_logger, orderId, order.Token);
            return;
        }

        var replica = new ResourceRequest(order.Resources.CpuMillis, order.Resources.MemoryMiB, order.Resources.StorageMiB, order.Resources.GpuCount, order.Resources.GpuModel);
        var quote = _pricing.Price(replica, order.Tenant, order.MaxPricePerHour);
        if (quote.PricePerReplicaHour is not { } price)
        {
            LogSkipped(_logger, orderId, quote.Refusal!);
            return;
        }

        // Held under a name of its own until the bid is placed, so that only placed bids count as bids.
        var pending = "pending:order-" + Id(orderId);
        var replicas = _ledger.ReserveUpTo(pending, replica, order.Replicas);
        if (replicas == 0)
        {
            LogNoRoom(_logger, orderId, replica);
            return;
        }

        string bidId;
        try
        {
            bidId = Id(await market.BidAsync(orderId, price, (uint)replicas, cancellationToken).ConfigureAwait(false));
        }
        catch (ContractRevertException e) when (e.ErrorName == "DuplicateBid")
        {
            // Placed before a crash that came before it was saved: adopt it.
            bidId = await FindOwnBidAsync(market, orderId, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"order {orderId} reports a bid of ours that is not listed");
        }
        catch (ContractRevertException e)
        {
            _ledger.Release(pending);
            LogSkipped(_logger, orderId, e.Message);
            return;
        }
        catch
        {
            _ledger.Release(pending);
            throw;
        }

        _ledger.Transfer(pending, BidHolder(bidId));
        _bids[bidId] = new OpenBid(bidId, Id(orderId), replicas, replica, order.BidDeadline);
        _store.WriteDocument(BidsDocument, _bids.Values.ToList());
        _metrics.BidsPlaced.Add(1);
        LogBid(_logger, orderId, bidId, price, replicas);
    }

    private async Task<string?> FindOwnBidAsync(DePinMarketContract market, BigInteger orderId, CancellationToken cancellationToken)
    {
        foreach (var id in await market.OrderBidsAsync(orderId, cancellationToken).ConfigureAwait(false))
        {
            if ((await market.GetBidAsync(id, cancellationToken).ConfigureAwait(false)).Provider == _key.Address)
            {
                return Id(id);
            }
        }

        return null;
    }

    private async Task StartLeaseAsync(DePinMarketContract market, string leaseId, string bidId, Address tenant, CancellationToken cancellationToken)
    {
        if (_pods.Lease(leaseId) is not null)
        {
            return;
        }

        // The tenant may take fewer replicas than the bid offered: the lease says how many.
        var onChain = await market.GetLeaseAsync(BigInteger.Parse(leaseId, CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        var bid = _bids.GetValueOrDefault(bidId);
        var perReplica = bid?.PerReplica;
        if (perReplica is null)
        {
            // A bid this agent no longer tracked (expired here, accepted late): read the order back.
            var order = await market.GetOrderAsync(onChain.OrderId, cancellationToken).ConfigureAwait(false);
            perReplica = new ResourceRequest(order.Resources.CpuMillis, order.Resources.MemoryMiB, order.Resources.StorageMiB, order.Resources.GpuCount, order.Resources.GpuModel);
        }

        var lease = new LeaseRecord { Id = leaseId, Tenant = tenant.ToString(), Replicas = onChain.Replicas, PerReplica = perReplica, OrderId = Id(onChain.OrderId), PricePerHour = Id(onChain.RatePerHour / Math.Max(onChain.Replicas, 1)), CreatedAt = _time.GetUtcNow() };
        var whole = bid is not null && bid.Replicas == onChain.Replicas;
        if (bid is not null && !whole)
        {
            _ledger.Release(BidHolder(bidId));
        }

        var refusal = await _pods.AddLeaseAsync(lease, whole ? BidHolder(bidId) : null, cancellationToken).ConfigureAwait(false);
        _bids.Remove(bidId);
        _store.WriteDocument(BidsDocument, _bids.Values.ToList());
        if (refusal is not null)
        {
            // It cannot be served: close it at once so that the tenant is refunded.
            LogCannotServe(_logger, leaseId, refusal);
            await market.CloseAsync(BigInteger.Parse(leaseId, CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            return;
        }

        _metrics.BidsWon.Add(1);
        LogLeaseStarted(_logger, leaseId, tenant);
    }

    private void Forget(string bidId, string why)
    {
        if (_bids.Remove(bidId))
        {
            _ledger.Release(BidHolder(bidId));
            _store.WriteDocument(BidsDocument, _bids.Values.ToList());
            LogBidReleased(_logger, bidId, why);
        }
    }

    /// <summary>Bids not accepted within the grace after their deadline (chain time) are withdrawn and their capacity freed.</summary>
    private async Task ExpireBidsAsync(DePinMarketContract market, long now, CancellationToken cancellationToken)
    {
        foreach (var bid in _bids.Values.Where(b => (long)b.BidDeadline + (long)_options.AcceptGrace.TotalSeconds < now).ToList())
        {
            try
            {
                await market.WithdrawBidAsync(BigInteger.Parse(bid.BidId, CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            }
            catch (ContractRevertException e) when (e.ErrorName == "BidNotOpen")
            {
                // Won or lost meanwhile; the event will say which.
                continue;
            }

            Forget(bid.BidId, "expired");
        }
    }

    /// <summary>Withdraws what leases have earned; closes those whose escrow ran dry; drops those the tenant closed.</summary>
    private async Task SettleLeasesAsync(DePinMarketContract market, CancellationToken cancellationToken)
    {
        foreach (var lease in _pods.Leases())
        {
            var id = BigInteger.Parse(lease.Id, CultureInfo.InvariantCulture);
            var balance = await market.LeaseBalanceAsync(id, cancellationToken).ConfigureAwait(false);
            if (balance.State == MarketLeaseState.Insolvent)
            {
                LogInsolvent(_logger, lease.Id);
                await market.CloseAsync(id, cancellationToken).ConfigureAwait(false);
            }

            if (balance.Withdrawable > 0)
            {
                var paid = await market.WithdrawAsync(id, cancellationToken).ConfigureAwait(false);
                _metrics.Earnings.Add((double)paid);
                LogWithdrawn(_logger, lease.Id, paid);
            }

            if (balance.State is MarketLeaseState.Insolvent or MarketLeaseState.Closed)
            {
                await _pods.RemoveLeaseAsync(lease.Id, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "the chain is not reachable yet: {Error}")]
    private static partial void LogChainUnavailable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "marketplace round failed: {Error}")]
    private static partial void LogRoundFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "registered provider {Address} at {Endpoint}")]
    private static partial void LogRegistered(ILogger logger, Address address, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "no bid on order {OrderId}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, BigInteger orderId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "no bid on order {OrderId}: it pays in {Token}, not the configured token")]
    private static partial void LogWrongToken(ILogger logger, BigInteger orderId, Address token);

    [LoggerMessage(Level = LogLevel.Information, Message = "no bid on order {OrderId}: the host has no room for one replica ({Replica})")]
    private static partial void LogNoRoom(ILogger logger, BigInteger orderId, ResourceRequest replica);

    [LoggerMessage(Level = LogLevel.Information, Message = "bid {BidId} on order {OrderId}: {Price} per replica-hour for {Replicas} replica(s)")]
    private static partial void LogBid(ILogger logger, BigInteger orderId, string bidId, BigInteger price, long replicas);

    [LoggerMessage(Level = LogLevel.Information, Message = "bid {BidId} {Why}; its capacity is free again")]
    private static partial void LogBidReleased(ILogger logger, string bidId, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {LeaseId} of tenant {Tenant} started")]
    private static partial void LogLeaseStarted(ILogger logger, string leaseId, Address tenant);

    [LoggerMessage(Level = LogLevel.Error, Message = "lease {LeaseId} cannot be served and is closed: {Reason}")]
    private static partial void LogCannotServe(ILogger logger, string leaseId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {LeaseId} ran out of escrow; closing it")]
    private static partial void LogInsolvent(ILogger logger, string leaseId);

    [LoggerMessage(Level = LogLevel.Information, Message = "withdrew {Amount} from lease {LeaseId}")]
    private static partial void LogWithdrawn(ILogger logger, string leaseId, BigInteger amount);
}
