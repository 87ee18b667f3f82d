using System.Globalization;
using System.Net;
using System.Numerics;
using DePin.Api;
using DePin.Api.V1Alpha1;
using DePin.Ethereum;
using DePin.Ethereum.Rpc;
using DePin.Marketplace;
using DePin.Operator.Auction;
using DePin.Operator.Deployments;
using DePin.Operator.Health;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Events;
using DePin.Runtime.Informers;
using k8s;
using k8s.Autorest;
using k8s.Models;
using static DePin.Operator.ClusterObjects;

namespace DePin.Operator.Controllers;

/// <summary>
/// Runs a DePinDeployment: checks its spec, posts an order for the replicas that have no lease, waits
/// out the bid window, decides the auction into <c>status.decision</c>, accepts the winners, creates a
/// DePinLease per accepted bid, and keeps one pod per replica on the leases' virtual nodes, rolling
/// them one at a time when the template changes. Every step that acts outside the cluster is keyed by
/// something already written to status (the auction round before an order is posted, the order id
/// before bids are accepted), and every such step can be repeated, so a restart at any moment neither
/// doubles nor leaks a lease. Deleting the deployment deletes its leases (each closes itself on the
/// marketplace once its pods are gone) and then closes anything of its last order still open.
/// </summary>
internal sealed partial class DeploymentReconciler(
    IKubernetes kubernetes,
    MarketplaceConnector connector,
    Informer<DePinMarketplace> marketplaces,
    Informer<DePinLease> leases,
    Informer<V1Pod> pods,
    StatusWriter<DePinDeployment> statusWriter,
    LeaseHealthRegistry health,
    ProviderReputation reputation,
    EventRecorder events,
    TimeProvider time,
    ILogger<DeploymentReconciler> logger) : IReconciler<DePinDeployment>
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FailedProviderMemory = TimeSpan.FromHours(1);

    // When each deployment's current failover was detected, until its cloud pods are Ready (for the metric).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _failovers = new(StringComparer.Ordinal);

    // The seconds from a failure to its cloud pods, measured by the pass that made them: a later pass
    // that records the same failover (the first write lost a conflict) reports that figure, not its own.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Uid, DateTimeOffset Detected), double> _failoverSeconds = new();

    public string? Finalizer => Names.DeploymentFinalizer;

    public async Task<ReconcileResult> ReconcileAsync(DePinDeployment resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var pass = new Pass(resource, time.GetUtcNow());
        if (DeploymentValidation.Check(resource.Spec) is { } problem)
        {
            return await StallAsync(pass, problem, cancellationToken).ConfigureAwait(false);
        }

        ConnectedMarketplace market;
        try
        {
            market = await connector.ForAsync(resource.Spec.MarketplaceRef.Name, marketplaces.Cache, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MarketplaceConfigurationException or HttpRequestException or JsonRpcException or TimeoutException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            var message = $"spec.marketplaceRef.name: marketplace {resource.Spec.MarketplaceRef.Name} cannot be used yet: {e.Message}";
            pass.Status.Phase = DeploymentPhase.Pending;
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "MarketplaceNotReady", message, pass.Generation, pass.Now);
            Kstatus.SetReconciling(pass.Conditions, "MarketplaceNotReady", message, pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.FromSeconds(5));
        }

        var (maxPrice, _, amountProblem) = DeploymentValidation.Amounts(resource.Spec, market.TokenDecimals);
        if (amountProblem is not null)
        {
            return await StallAsync(pass, amountProblem, cancellationToken).ConfigureAwait(false);
        }

        var owned = leases.Cache.ByIndex(InformerCache<DePinLease>.OwnerIndex, resource.Metadata.Uid);
        var live = owned
            .Where(l => l.Metadata.DeletionTimestamp is null && l.Status?.State != LeaseState.Closed)
            .OrderBy(l => l.Metadata.CreationTimestamp ?? DateTime.MinValue).ThenBy(l => l.Metadata.Name, StringComparer.Ordinal)
            .ToList();

        // Leases closed on the marketplace (by the provider, or run dry) go; their replicas are auctioned again.
        foreach (var closed in owned.Where(l => l.Metadata.DeletionTimestamp is null && l.Status?.State == LeaseState.Closed))
        {
            await DeleteLeaseAsync(closed, cancellationToken).ConfigureAwait(false);
        }

        // A failed lease's replicas move to cloud nodes before anything else is done; with re-auction the
        // lease is closed and its replicas go to a new auction that leaves its provider out.
        var fallback = resource.Spec.Fallback ?? new FallbackSpec();
        var failed = fallback.Enabled ? live.Where(l => IsFailed(pass, l)).ToList() : [];
        var fallbackWait = await SyncFallbackAsync(pass, live, failed, fallback, cancellationToken).ConfigureAwait(false);
        foreach (var lease in failed)
        {
            await FailOverAsync(pass, lease, fallback, cancellationToken).ConfigureAwait(false);
        }

        if (fallback.Reauction)
        {
            live.RemoveAll(failed.Contains);
        }

        // Scaled down: whole leases that are no longer needed are released, newest first.
        var leased = live.Sum(l => l.Spec.Replicas);
        for (var i = live.Count - 1; i >= 0 && leased - live[i].Spec.Replicas >= resource.Spec.Replicas; i--)
        {
            leased -= live[i].Spec.Replicas;
            await DeleteLeaseAsync(live[i], cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(resource, "Normal", "LeaseReleased", $"lease {live[i].Spec.LeaseId} with {live[i].Spec.Provider.Id} is no longer needed for {resource.Spec.Replicas} replicas", cancellationToken).ConfigureAwait(false);
            live.RemoveAt(i);
        }

        var next = fallbackWait is { } dwell && dwell < Poll ? dwell : Poll;
        string? leasingReason = null;

        // Without failback, replicas on cloud nodes stay there and need no lease.
        var covered = fallback.Failback.Enabled ? 0 : pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, resource.Metadata.Uid).Count(p => p.Metadata.DeletionTimestamp is null && Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "fallback");
        if (resource.Spec.Replicas > leased + covered)
        {
            var (wait, reason) = await AuctionAsync(pass, market, maxPrice, resource.Spec.Replicas - leased - covered, owned, cancellationToken).ConfigureAwait(false);
            leasingReason = reason;
            if (wait < next)
            {
                next = wait;
            }
        }

        // A lease that failed takes pods again only once it has been healthy for failback.stableSeconds,
        // so that a flapping provider does not have pods made and taken away again and again.
        var now = time.GetUtcNow();
        await SyncPodsAsync(pass.Resource, [.. live.Where(l => !failed.Contains(l))], l => !fallback.Enabled || MayRunPods(pass, l, fallback, now), cancellationToken).ConfigureAwait(false);
        Summarize(pass, market, owned, live, failed, leasingReason);
        await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.After(next);
    }

    public async Task<ReconcileResult> FinalizeAsync(DePinDeployment resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var pass = new Pass(resource, time.GetUtcNow());
        var owned = leases.Cache.ByIndex(InformerCache<DePinLease>.OwnerIndex, resource.Metadata.Uid);
        foreach (var lease in owned.Where(l => l.Metadata.DeletionTimestamp is null))
        {
            await DeleteLeaseAsync(lease, cancellationToken).ConfigureAwait(false);
        }

        var ownPods = pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, resource.Metadata.Uid);
        foreach (var pod in ownPods.Where(p => p.Metadata.DeletionTimestamp is null))
        {
            await DeletePodAsync(pod, cancellationToken).ConfigureAwait(false);
        }

        if (owned.Count > 0 || ownPods.Count > 0)
        {
            pass.Status.Phase = DeploymentPhase.Terminating;
            Kstatus.SetReconciling(pass.Conditions, "Terminating", $"removing {ownPods.Count} pods and closing {owned.Count} leases", pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.FromSeconds(2));
        }

        OperatorMetrics.Forget(ObjectKey.Of(resource));
        _failovers.TryRemove(resource.Metadata.Uid, out _);

        // Every DePinLease is gone, each closed on its way out. What remains is the last order: still
        // open (its deposit returns), or matched with leases that never got an object (a restart between
        // the accept and the create), which are closed here.
        if (resource.Status?.Order?.Id is { } orderId)
        {
            ConnectedMarketplace market;
            try
            {
                market = await connector.ForAsync(resource.Spec.MarketplaceRef.Name, marketplaces.Cache, cancellationToken).ConfigureAwait(false);
            }
            catch (MarketplaceConfigurationException e) when (e.Reason == "MarketplaceNotFound")
            {
                await events.RecordAsync(resource, "Warning", "MarketplaceGone", $"order {orderId} cannot be checked: {e.Message}", cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done;
            }

            await KnowOrderAsync(market, resource, resource.Status.Order, cancellationToken).ConfigureAwait(false);
            await market.Marketplace.CancelOrderAsync(orderId, cancellationToken).ConfigureAwait(false);
            foreach (var lease in await market.Marketplace.LeasesOfOrderAsync(orderId, cancellationToken).ConfigureAwait(false))
            {
                if (!lease.Closed)
                {
                    await market.Marketplace.CloseLeaseAsync(lease.LeaseId, cancellationToken).ConfigureAwait(false);
                    LogOrphanClosed(logger, lease.LeaseId, orderId, ObjectKey.Of(resource));
                }
            }
        }

        return ReconcileResult.Done;
    }

    private static TimeSpan Backoff(int failedRounds) =>
        TimeSpan.FromSeconds(Math.Min(300, 10 * Math.Pow(2, Math.Max(0, failedRounds - 1))));

    private static string Explain(AuctionOutcome outcome, int decimals)
    {
        var placed = $"{outcome.Placed} of {outcome.Wanted} replicas could be placed";
        var cheapest = outcome.Rejected.Where(r => r.Reason != "NotNeeded").OrderBy(r => r.Offer.PricePerHour).FirstOrDefault();
        return cheapest is null
            ? outcome.Rejected.Count == 0 && outcome.Chosen.Count == 0 ? $"no bids were received; {placed}" : placed
            : $"{placed}; the cheapest rejected bid, {TokenAmount.Format(cheapest.Offer.PricePerHour, decimals)} per hour from {cheapest.Offer.ProviderId}, was rejected: {cheapest.Reason}: {cheapest.Message}";
    }

    // Where to reach a provider is kept for chosen bids only: they are accepted from status.
    private static BidDecision ToStatus(Offer offer, int decimals, double? score, int? replicas, string reason, string? message, bool reach = true) => new()
    {
        BidId = offer.BidId,
        Provider = offer.ProviderId,
        Address = reach ? offer.ProviderAddress?.ToString() : null,
        Endpoint = reach ? offer.Endpoint : null,
        Region = offer.Region.Length > 0 ? offer.Region : null,
        PricePerHour = TokenAmount.Format(offer.PricePerHour, decimals),
        Score = score,
        Replicas = replicas,
        Reason = reason,
        Message = message,
    };

    private static Offer FromStatus(BidDecision bid, int decimals) => new(
        bid.BidId ?? "",
        bid.Provider,
        bid.Address is { } address ? Address.Parse(address) : null,
        bid.Endpoint ?? "",
        bid.Region ?? "",
        new Dictionary<string, string>(),
        TokenAmount.Parse(bid.PricePerHour, decimals),
        bid.Replicas ?? 0,
        []);

    private static DePinLease NewLease(DePinDeployment deployment, LeaseInfo info, BidDecision? bid, ReplicaResources resources, int decimals)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Names.DeploymentUidLabel] = deployment.Metadata.Uid,
        };
        if (Names.LabelValue(deployment.Metadata.Name) is { } name)
        {
            labels[Names.DeploymentLabel] = name;
        }

        if (Names.LabelValue(info.ProviderId) is { } provider)
        {
            labels[Names.ProviderLabel] = provider;
        }

        if (Names.LabelValue(info.LeaseId) is { } leaseLabel)
        {
            labels[Names.LeaseLabel] = leaseLabel;
        }

        return new DePinLease
        {
            Metadata = new V1ObjectMeta
            {
                Name = Names.Lease(deployment.Metadata.Name, info.LeaseId),
                NamespaceProperty = deployment.Metadata.NamespaceProperty,
                Labels = labels,
                OwnerReferences = [Names.Owner(deployment)],
                Finalizers = [Names.LeaseFinalizer],
            },
            Spec = new DePinLeaseSpec
            {
                Deployment = deployment.Metadata.Name,
                Marketplace = deployment.Spec.MarketplaceRef.Name,
                LeaseId = info.LeaseId,
                OrderId = info.OrderId,
                Provider = new ProviderInfo
                {
                    Id = info.ProviderId,
                    Address = bid?.Address,
                    Endpoint = info.Endpoint.Length > 0 ? info.Endpoint : bid?.Endpoint ?? "",
                    Region = bid?.Region,
                },
                PricePerHour = TokenAmount.Format(info.PricePerHour, decimals),
                Resources = PodTemplates.Capacity(resources),
                Replicas = info.Replicas,
            },
        };
    }

    private static BigInteger Spent(DePinLease lease, int decimals, DateTimeOffset now)
    {
        if (lease.Status?.Escrow?.Accrued is { } accrued)
        {
            return TokenAmount.Parse(accrued, decimals);
        }

        // A static fleet has no escrow: the spend is the price over the time the lease has been open.
        var price = TokenAmount.Parse(lease.Spec.PricePerHour, decimals) * lease.Spec.Replicas;
        var opened = lease.Metadata.CreationTimestamp is { } created ? Utc(created) : now;
        var seconds = (long)Math.Max(0, ((lease.Metadata.DeletionTimestamp is { } deleted ? Utc(deleted) : now) - opened).TotalSeconds);
        return price * seconds / 3600;
    }

    // The auction for replicas without a lease. Returns when to come back and, while leases are
    // missing, the reason for the Leased condition.
    private async Task<(TimeSpan Wait, string Reason)> AuctionAsync(Pass pass, ConnectedMarketplace market, BigInteger maxPrice, int missing, IReadOnlyList<DePinLease> owned, CancellationToken cancellationToken)
    {
        var deployment = pass.Resource;
        var decimals = market.TokenDecimals;
        var status = pass.Status;
        var order = status.Order;
        var fulfilled = order?.Id is { } id && owned.Any(l => l.Spec.OrderId == id);
        var failed = order?.Id is not null && status.Decision?.OrderId == order.Id && status.Decision.Outcome == AuctionOutcomeKind.NoAcceptableBid;
        if (order is null || fulfilled || failed)
        {
            if (failed && deployment.Status?.ObservedGeneration == deployment.Metadata.Generation && status.Decision!.DecidedAt is { } decided)
            {
                var retryAt = Utc(decided) + Backoff(order!.FailedRounds ?? 1);
                if (pass.Now < retryAt)
                {
                    status.Phase = DeploymentPhase.Pending;
                    Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "NoAcceptableBid", status.Decision.Message ?? "no acceptable bid", pass.Generation, pass.Now);
                    return (retryAt - pass.Now, "NoAcceptableBid");
                }
            }

            // The leases of an order just accepted reach the cache one by one: one that has not yet is not
            // a missing replica. Before a new order (escrow, bids, providers' capacity held), the API server
            // itself says whether the last order's leases are all there.
            if (fulfilled && await LeasesLagAsync(deployment, order!.Id!, owned, cancellationToken).ConfigureAwait(false))
            {
                status.Phase = DeploymentPhase.Leasing;
                return (TimeSpan.FromSeconds(1), "Leasing");
            }

            // The round is written before its order is posted: the order's key derives from it.
            status.Order = order = new OrderStatus { Attempt = (order?.Attempt ?? 0) + 1, Replicas = missing, FailedRounds = failed ? order!.FailedRounds : 0 };
            status.Phase = DeploymentPhase.Bidding;
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "Bidding", $"posting an order for {missing} replicas", pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
        }

        var resources = PodTemplates.PerReplica(deployment.Spec);
        if (order.Id is null)
        {
            var posted = await market.Marketplace.PostOrderAsync(OrderOf(deployment, order, maxPrice, resources), cancellationToken).ConfigureAwait(false);
            order.Id = posted.OrderId;
            order.PostedAt = pass.Now.UtcDateTime;
            order.BidDeadline = posted.BidDeadline.UtcDateTime;
            status.Phase = DeploymentPhase.Bidding;
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "Bidding", $"order {order.Id} takes bids until {posted.BidDeadline:u}", pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(deployment, "Normal", "OrderPosted", $"order {order.Id} for {order.Replicas} replicas at most {TokenAmount.Format(maxPrice, decimals)} per replica and hour; bids until {posted.BidDeadline:u}", cancellationToken).ConfigureAwait(false);
        }

        if (status.Decision?.OrderId != order.Id)
        {
            var deadline = Utc(order.BidDeadline ?? pass.Now.UtcDateTime);
            if (pass.Now < deadline)
            {
                status.Phase = DeploymentPhase.Bidding;
                return (deadline - pass.Now, "Bidding");
            }

            await KnowOrderAsync(market, deployment, order, cancellationToken).ConfigureAwait(false);
            var auditors = (deployment.Spec.Placement?.Auditors ?? []).Select(Address.Parse).ToList();
            var offers = await market.Marketplace.OffersAsync(order.Id, auditors, cancellationToken).ConfigureAwait(false);
            var placement = WithoutFailedProviders(deployment.Spec.Placement ?? new PlacementSpec(), status, pass.Now);
            var placed = owned.Where(l => l.Metadata.DeletionTimestamp is null && l.Status?.State is not (LeaseState.Closed or LeaseState.Degraded))
                .GroupBy(l => l.Spec.Provider.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(l => l.Spec.Replicas), StringComparer.Ordinal);
            var outcome = AuctionDecision.Decide(offers, order.Replicas ?? missing, maxPrice, decimals, placement, deployment.Spec.Bidding.Strategy, reputation.Snapshot(), placed);
            order.BidsReceived = offers.Count;
            var decision = status.Decision = new DecisionStatus
            {
                OrderId = order.Id,
                DecidedAt = pass.Now.UtcDateTime,
                Strategy = deployment.Spec.Bidding.Strategy,
                Chosen = [.. outcome.Chosen.Select((c, rank) => ToStatus(c.Offer, decimals, c.Score, c.Replicas, deployment.Spec.Bidding.Strategy == BidStrategy.LowestPrice ? "Cheapest" : "BestScore", string.Create(CultureInfo.InvariantCulture, $"ranked {rank + 1} of {outcome.Chosen.Count} acceptable bids (score {c.Score:0.###}); wins {c.Replicas} replicas")))],
                Rejected = [.. outcome.Rejected.Select(r => ToStatus(r.Offer, decimals, r.Score, null, r.Reason, r.Message, reach: false))],
            };
            if (!outcome.Complete)
            {
                order.FailedRounds = (order.FailedRounds ?? 0) + 1;
                decision.Outcome = AuctionOutcomeKind.NoAcceptableBid;
                decision.Message = Explain(outcome, decimals);
                status.Phase = DeploymentPhase.Pending;
                Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "NoAcceptableBid", decision.Message, pass.Generation, pass.Now);
                await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
                await events.RecordAsync(deployment, "Warning", "NoAcceptableBid", $"order {order.Id}: {decision.Message}; next round in {Backoff(order.FailedRounds.Value).TotalSeconds:0} s", cancellationToken).ConfigureAwait(false);
                await market.Marketplace.CancelOrderAsync(order.Id, cancellationToken).ConfigureAwait(false);
                return (Backoff(order.FailedRounds.Value), "NoAcceptableBid");
            }

            decision.Outcome = AuctionOutcomeKind.Accepted;
            decision.Message = $"{string.Join(", ", outcome.Chosen.Select(c => $"{c.Replicas} on {c.Offer.ProviderId} at {TokenAmount.Format(c.Offer.PricePerHour, decimals)}"))} of {offers.Count} bids";
            status.Phase = DeploymentPhase.Leasing;
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "Accepting", decision.Message, pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(deployment, "Normal", "AuctionDecided", $"order {order.Id}: {decision.Message}", cancellationToken).ConfigureAwait(false);
        }

        if (fulfilled || status.Decision.Outcome != AuctionOutcomeKind.Accepted)
        {
            return (Poll, "Leasing");
        }

        // Accepting again returns the leases already opened, so a restart here opens nothing twice.
        await KnowOrderAsync(market, deployment, order, cancellationToken).ConfigureAwait(false);
        var chosen = status.Decision.Chosen ?? [];
        IReadOnlyList<LeaseInfo> opened;
        try
        {
            opened = await market.Marketplace.AcceptAsync(order.Id, [.. chosen.Select(c => FromStatus(c, decimals))], cancellationToken).ConfigureAwait(false);
        }
        catch (MarketplaceException e)
        {
            // A provider refused its lease after quoting: release whatever the others opened and start a new round.
            foreach (var lease in await market.Marketplace.LeasesOfOrderAsync(order.Id, cancellationToken).ConfigureAwait(false))
            {
                await market.Marketplace.CloseLeaseAsync(lease.LeaseId, cancellationToken).ConfigureAwait(false);
            }

            order.FailedRounds = (order.FailedRounds ?? 0) + 1;
            status.Decision.Outcome = AuctionOutcomeKind.NoAcceptableBid;
            status.Decision.Message = $"accepting the chosen bids failed: {e.Message}";
            status.Phase = DeploymentPhase.Pending;
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "False", "NoAcceptableBid", status.Decision.Message, pass.Generation, pass.Now);
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(deployment, "Warning", "AcceptFailed", status.Decision.Message, cancellationToken).ConfigureAwait(false);
            return (Backoff(order.FailedRounds.Value), "NoAcceptableBid");
        }

        if (order.PostedAt is { } postedAt)
        {
            OperatorMetrics.TimeToLease.Record((time.GetUtcNow() - Utc(postedAt)).TotalSeconds);
        }

        foreach (var info in opened)
        {
            var lease = NewLease(deployment, info, chosen.FirstOrDefault(c => c.Provider == info.ProviderId), resources, decimals);
            try
            {
                await kubernetes.CustomObjects.CreateNamespacedCustomObjectAsync(lease, DePinApi.Group, DePinApi.Version, lease.Metadata.NamespaceProperty, DePinLease.KubePluralName, cancellationToken: cancellationToken).ConfigureAwait(false);
                await events.RecordAsync(deployment, "Normal", "LeaseOpened", $"lease {info.LeaseId} with {info.ProviderId}: {info.Replicas} replicas at {lease.Spec.PricePerHour} per replica and hour", cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Created before a restart, or by the previous pass from a stale cache.
            }
        }

        status.Phase = DeploymentPhase.Leasing;
        return (TimeSpan.FromSeconds(1), "Leasing");
    }

    // Whether the API server has leases of the order that the cache has not shown yet.
    private async Task<bool> LeasesLagAsync(DePinDeployment deployment, string orderId, IReadOnlyList<DePinLease> cached, CancellationToken cancellationToken)
    {
        var stored = await LeaseLists.OfDeploymentAsync(kubernetes, deployment.Metadata.NamespaceProperty, deployment.Metadata.Uid, cancellationToken).ConfigureAwait(false);
        var seen = cached.Select(l => l.Metadata.Name).ToHashSet(StringComparer.Ordinal);

        // The cache holds a deployment's leases by owner: only leases it owns count here too.
        return stored.Any(l => l.Spec.OrderId == orderId && !seen.Contains(l.Metadata.Name)
            && l.Metadata.OwnerReferences?.Any(o => o.Uid == deployment.Metadata.Uid) == true);
    }

    private static OrderSpec OrderOf(DePinDeployment deployment, OrderStatus order, BigInteger maxPrice, ReplicaResources resources)
    {
        var replicas = order.Replicas ?? 1;
        return new OrderSpec(
            Names.OrderKey(deployment.Metadata.Uid, order.Attempt),
            replicas,
            maxPrice,
            TimeSpan.FromSeconds(deployment.Spec.Bidding.BidWindowSeconds),
            maxPrice * replicas * deployment.Spec.Bidding.LeaseHours,
            resources);
    }

    // A static marketplace keeps its orders in memory: posting again under the same key finds it after a restart.
    private static async Task KnowOrderAsync(ConnectedMarketplace market, DePinDeployment deployment, OrderStatus order, CancellationToken cancellationToken)
    {
        if (market.Tenant is null && DeploymentValidation.Amounts(deployment.Spec, market.TokenDecimals) is { Problem: null } amounts)
        {
            await market.Marketplace.PostOrderAsync(OrderOf(deployment, order, amounts.MaxPricePerHour, PodTemplates.PerReplica(deployment.Spec)), cancellationToken).ConfigureAwait(false);
        }
    }

    // One pod per replica slot of each live lease, made from the current template. A slot whose pod is
    // from an older template is rolled: its old pod goes first (the lease has room for one pod per slot),
    // one slot at a time, and only while every other slot has a Ready pod.
    private async Task SyncPodsAsync(DePinDeployment deployment, IReadOnlyList<DePinLease> live, Func<DePinLease, bool> mayCreate, CancellationToken cancellationToken)
    {
        var hash = Names.TemplateHash(deployment.Spec.Template);
        var owned = pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, deployment.Metadata.Uid)
            .Where(p => Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "provider")
            .ToList();
        var wanted = new Dictionary<(string Lease, int Slot), DePinLease>();
        var remaining = deployment.Spec.Replicas;
        foreach (var lease in live)
        {
            for (var slot = 0; slot < lease.Spec.Replicas && remaining > 0; slot++, remaining--)
            {
                wanted[(lease.Spec.LeaseId, slot)] = lease;
            }
        }

        var bySlot = owned
            .GroupBy(p => (Lease: Names.Get(p.Metadata.Labels, Names.LeaseLabel) ?? "", Slot: int.TryParse(Names.Get(p.Metadata.Labels, Names.SlotLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (key, slotPods) in bySlot)
        {
            if (!wanted.ContainsKey(key))
            {
                foreach (var pod in slotPods.Where(p => p.Metadata.DeletionTimestamp is null))
                {
                    await DeletePodAsync(pod, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        var outdated = new List<V1Pod>();
        var unavailable = 0;
        foreach (var (key, lease) in wanted)
        {
            var slot = key.Slot;
            var slotPods = bySlot.TryGetValue(key, out var found) ? found : [];
            var current = slotPods.FirstOrDefault(p => Names.Get(p.Metadata.Labels, Names.TemplateHashLabel) == hash && p.Metadata.DeletionTimestamp is null);
            var old = slotPods.Where(p => Names.Get(p.Metadata.Labels, Names.TemplateHashLabel) != hash).ToList();
            if (current is null || !PodTemplates.IsReady(current))
            {
                unavailable++;
            }

            if (old.Count > 0)
            {
                outdated.AddRange(old.Where(p => p.Metadata.DeletionTimestamp is null && !old.Any(o => o.Metadata.DeletionTimestamp is not null)));
                if (old.Any(p => PodTemplates.IsReady(p)) && current is null)
                {
                    unavailable--;
                }

                continue;
            }

            if (current is null && slotPods.Count == 0 && lease.Status?.NodeName is { } nodeName && mayCreate(lease))
            {
                await CreatePodAsync(PodTemplates.ProviderPod(deployment, lease, nodeName, slot, hash), cancellationToken).ConfigureAwait(false);
            }
        }

        // Roll one slot at a time: its old pod goes only when every slot is available and none is mid-roll.
        var rolling = owned.Any(p => p.Metadata.DeletionTimestamp is not null);
        if (outdated.Count > 0 && !rolling && unavailable == 0)
        {
            var pod = outdated.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).First();
            await DeletePodAsync(pod, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(deployment, "Normal", "RollingUpdate", $"replacing pod {pod.Metadata.Name} with one from the new template", cancellationToken).ConfigureAwait(false);
        }
    }

    private void Summarize(Pass pass, ConnectedMarketplace market, IReadOnlyList<DePinLease> owned, List<DePinLease> live, List<DePinLease> failed, string? leasingReason)
    {
        var deployment = pass.Resource;
        var status = pass.Status;
        var decimals = market.TokenDecimals;
        var ownPods = pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, deployment.Metadata.Uid).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        var providerPods = ownPods.Where(p => Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "provider").ToList();
        var ready = ownPods.Count(PodTemplates.IsReady);
        var leased = live.Sum(l => l.Spec.Replicas);
        var wanted = deployment.Spec.Replicas;
        status.Replicas = ownPods.Count;
        status.ReadyReplicas = ready;
        status.DepinReplicas = providerPods.Count;
        status.FallbackReplicas = ownPods.Count - providerPods.Count;
        status.Providers = live.Count > 0 ? string.Join(",", live.OrderBy(l => TokenAmount.Parse(l.Spec.PricePerHour, decimals)).ThenBy(l => l.Spec.Provider.Id, StringComparer.Ordinal).Select(l => l.Spec.Provider.Id).Distinct(StringComparer.Ordinal)) : null;
        status.PricePerHour = TokenAmount.Format(live.Aggregate(BigInteger.Zero, (sum, l) => sum + (TokenAmount.Parse(l.Spec.PricePerHour, decimals) * Math.Min(l.Spec.Replicas, wanted))), decimals);

        // Leases keep their line in status after they close, so that the spend to date stays whole.
        var summaries = (status.Leases ?? []).ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var lease in owned)
        {
            summaries[lease.Metadata.Name] = new LeaseSummary
            {
                Name = lease.Metadata.Name,
                LeaseId = lease.Spec.LeaseId,
                Provider = lease.Spec.Provider.Id,
                Replicas = lease.Spec.Replicas,
                State = lease.Status?.State ?? LeaseState.Pending,
                PricePerHour = lease.Spec.PricePerHour,
                Spent = TokenAmount.Format(Spent(lease, decimals, pass.Now), decimals),
            };
        }

        foreach (var summary in summaries.Values.Where(s => owned.All(l => l.Metadata.Name != s.Name)))
        {
            summary.State = LeaseState.Closed;
        }

        status.Leases = summaries.Count > 0 ? [.. summaries.Values.OrderBy(s => s.Name, StringComparer.Ordinal)] : null;
        status.SpendToDate = TokenAmount.Format(summaries.Values.Aggregate(BigInteger.Zero, (sum, s) => sum + (s.Spent is { } spent ? TokenAmount.Parse(spent, decimals) : BigInteger.Zero)), decimals);
        OperatorMetrics.SetMoney(ObjectKey.Of(deployment), summaries.Values.Where(s => s.Provider is not null).GroupBy(s => s.Provider!, StringComparer.Ordinal).ToDictionary(
            g => g.Key,
            g => (
                (double)g.Where(s => s.State != LeaseState.Closed).Sum(s => decimal.Parse(s.PricePerHour ?? "0", CultureInfo.InvariantCulture) * (s.Replicas ?? 0)),
                (double)g.Sum(s => decimal.Parse(s.Spent ?? "0", CultureInfo.InvariantCulture))),
            StringComparer.Ordinal));

        if (leased >= wanted)
        {
            Conditions.Set(pass.Conditions, ConditionTypes.Leased, "True", "LeasesOpen", $"{live.Count} leases hold {leased} replicas", pass.Generation, pass.Now);
        }

        var degraded = live.Where(l => l.Status?.State == LeaseState.Degraded).ToList();
        if (live.Count == 0)
        {
            Conditions.Set(pass.Conditions, ConditionTypes.SlaHealthy, "Unknown", "NoLeases", "no lease to measure", pass.Generation, pass.Now);
        }
        else if (degraded.Count > 0)
        {
            Conditions.Set(pass.Conditions, ConditionTypes.SlaHealthy, "False", "HeartbeatFailed", $"the heartbeat of {string.Join(", ", degraded.Select(l => l.Spec.Provider.Id))} does not verify", pass.Generation, pass.Now);
        }
        else if (live.All(l => l.Status?.State == LeaseState.Active))
        {
            Conditions.Set(pass.Conditions, ConditionTypes.SlaHealthy, "True", "HeartbeatsVerified", $"every provider's signed heartbeat verifies", pass.Generation, pass.Now);
        }
        else
        {
            Conditions.Set(pass.Conditions, ConditionTypes.SlaHealthy, "Unknown", "NotMeasured", "waiting for the first heartbeat of a new lease", pass.Generation, pass.Now);
        }

        var fallbackPods = ownPods.Count - providerPods.Count;
        if (fallbackPods > 0)
        {
            var why = status.LastFailover is { } last ? $" since {last.Provider} failed ({last.Reason})" : "";
            Conditions.Set(pass.Conditions, ConditionTypes.FallbackActive, "True", "ReplicasOnCloudNodes", $"{fallbackPods} replicas run on cloud nodes{why}", pass.Generation, pass.Now);
            if (failed.Count > 0)
            {
                Conditions.Set(pass.Conditions, ConditionTypes.SlaHealthy, "False", status.LastFailover?.Reason ?? "SLAFailed", $"{string.Join(", ", failed.Select(l => l.Spec.Provider.Id))} failed the SLA", pass.Generation, pass.Now);
            }

            var fallbackReady = ownPods.Count(p => Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "fallback" && PodTemplates.IsReady(p));
            status.Phase = fallbackReady == fallbackPods ? DeploymentPhase.OnFallback : DeploymentPhase.FallingBack;
            if (fallbackReady == fallbackPods && _failovers.TryRemove(deployment.Metadata.Uid, out var started))
            {
                OperatorMetrics.FailoverSeconds.Record((time.GetUtcNow() - started).TotalSeconds, new KeyValuePair<string, object?>("stage", "ready"));
            }

            if (ready >= wanted)
            {
                Kstatus.SetReady(pass.Conditions, "RunningOnFallback", $"{ready}/{wanted} replicas ready, {fallbackPods} of them on cloud nodes", pass.Generation, pass.Now);
            }
            else
            {
                Kstatus.SetReconciling(pass.Conditions, "FallingBack", $"{ready}/{wanted} replicas ready; {fallbackPods} moving to cloud nodes", pass.Generation, pass.Now);
            }

            return;
        }

        Conditions.Set(pass.Conditions, ConditionTypes.FallbackActive, "False", "OnProviders", "every replica runs on a provider", pass.Generation, pass.Now);
        if (leased >= wanted && ready >= wanted && providerPods.Count == wanted)
        {
            status.Phase = DeploymentPhase.Running;
            Kstatus.SetReady(pass.Conditions, "Running", $"{ready}/{wanted} replicas ready on {live.Count} leases", pass.Generation, pass.Now);
        }
        else if (leased >= wanted)
        {
            status.Phase = degraded.Count > 0 || live.Any(l => l.Status?.State == LeaseState.Active) && ownPods.Any(PodTemplates.IsReady) && ready < wanted && ownPods.Count >= wanted ? DeploymentPhase.Degraded : DeploymentPhase.Leasing;
            Kstatus.SetReconciling(pass.Conditions, "PodsStarting", $"{ready}/{wanted} replicas ready", pass.Generation, pass.Now);
        }
        else
        {
            var reason = leasingReason ?? "Bidding";
            var message = pass.Conditions.FirstOrDefault(c => c.Type == ConditionTypes.Leased)?.Message ?? "waiting for leases";
            Kstatus.SetReconciling(pass.Conditions, reason, message, pass.Generation, pass.Now);
        }
    }

    private static TimeSpan Dwell(FallbackSpec fallback) => TimeSpan.FromSeconds(Math.Max(fallback.Failback.StableSeconds, 30));

    // Providers that failed within the hour are left out of auctions, as if in placement.excludeProviders.
    private static PlacementSpec WithoutFailedProviders(PlacementSpec placement, DePinDeploymentStatus status, DateTimeOffset now)
    {
        var recent = (status.FailedProviders ?? []).Where(f => now - Utc(f.At) < FailedProviderMemory).Select(f => f.Provider).ToList();
        if (recent.Count == 0)
        {
            return placement;
        }

        var copy = KubernetesJson.Deserialize<PlacementSpec>(KubernetesJson.Serialize(placement));
        copy.ExcludeProviders = [.. (copy.ExcludeProviders ?? []).Concat(recent).Distinct(StringComparer.OrdinalIgnoreCase)];
        return copy;
    }

    // Failed: its monitor says so, or (before the monitor has measured, after a restart) its status does.
    private bool IsFailed(Pass pass, DePinLease lease) => pass.Health(health, lease) is { State: not HealthState.Unknown } measured
        ? measured.State == HealthState.Unhealthy
        : lease.Status?.State == LeaseState.Degraded;

    // A lease may take replicas back from cloud nodes when it is healthy: at once if it never failed (a
    // new lease), or once it has stayed healthy for failback.stableSeconds.
    private bool MayTakeBack(Pass pass, DePinLease lease, FailbackSpec failback, DateTimeOffset now)
    {
        if (pass.Health(health, lease) is not { State: not HealthState.Unknown } measured)
        {
            return lease.Status?.State == LeaseState.Active;
        }

        return measured.State == HealthState.Healthy && (measured.FailedAt is null || now - measured.Since >= TimeSpan.FromSeconds(failback.StableSeconds));
    }

    // Keeps as many cloud pods as replicas lack a Ready pod on a lease that may take them. They are
    // made before anything else in a failover, and removed only once pods on a provider are Ready in
    // their place (make-before-break), never sooner than the dwell time after the failover.
    private async Task<TimeSpan?> SyncFallbackAsync(Pass pass, IReadOnlyList<DePinLease> live, List<DePinLease> failed, FallbackSpec fallback, CancellationToken cancellationToken)
    {
        var deployment = pass.Resource;
        var ownPods = pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, deployment.Metadata.Uid).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        var cloud = ownPods.Where(p => Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "fallback").ToList();
        if (failed.Count == 0 && cloud.Count == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var wanted = deployment.Spec.Replicas;
        var takers = live.Where(l => !failed.Contains(l) && MayTakeBack(pass, l, fallback.Failback, now)).Select(l => l.Spec.LeaseId).ToHashSet(StringComparer.Ordinal);
        var onProviders = ownPods.Count(p => Names.Get(p.Metadata.Labels, Names.PlacementLabel) == "provider" && PodTemplates.IsReady(p) && takers.Contains(Names.Get(p.Metadata.Labels, Names.LeaseLabel) ?? ""));
        var target = Math.Clamp(wanted - onProviders, 0, wanted);
        TimeSpan? wait = null;
        if (!fallback.Failback.Enabled || !fallback.Enabled)
        {
            target = Math.Max(target, Math.Min(cloud.Count, wanted));
        }
        else if (pass.Status.LastFailover?.Time is { } failedOver && now < Utc(failedOver) + Dwell(fallback) && target < cloud.Count)
        {
            wait = Utc(failedOver) + Dwell(fallback) - now;
            target = cloud.Count;
        }

        if (cloud.Count < target)
        {
            var hash = Names.TemplateHash(deployment.Spec.Template);
            var used = cloud.Select(p => Names.Get(p.Metadata.Labels, Names.SlotLabel)).ToHashSet(StringComparer.Ordinal);
            for (int index = 0, made = cloud.Count; made < target; index++)
            {
                if (!used.Contains(index.ToString(CultureInfo.InvariantCulture)))
                {
                    await CreatePodAsync(PodTemplates.FallbackPod(deployment, index, hash), cancellationToken).ConfigureAwait(false);
                    made++;
                }
            }
        }
        else if (cloud.Count > target)
        {
            // The failback is written before the last cloud pods go: were the write lost (a conflict),
            // no later pass could tell that a failback happened, and it would never be recorded.
            if (target == 0 && (pass.Status.LastFailback?.Time is not { } backAt || pass.Status.LastFailover?.Time is not { } overAt || backAt < overAt))
            {
                var provider = string.Join(",", live.Where(l => takers.Contains(l.Spec.LeaseId)).Select(l => l.Spec.Provider.Id).Distinct(StringComparer.Ordinal));
                var since = pass.Status.LastFailover?.Time is { } at ? (now - Utc(at)).TotalSeconds : (double?)null;
                pass.Status.LastFailback = new FailbackStatus { Time = now.UtcDateTime, Provider = provider, SecondsOnFallback = since is { } s ? Math.Round(s, 3) : null };
                await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
            }

            foreach (var pod in cloud.OrderBy(PodTemplates.IsReady).ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal).Take(cloud.Count - target))
            {
                await DeletePodAsync(pod, cancellationToken).ConfigureAwait(false);
            }
        }

        // While replicas are on cloud nodes, look again soon: a lease may become stable enough to take them back.
        return wait ?? TimeSpan.FromSeconds(1);
    }

    // Whether new pods may go to a lease: not while it fails, and after it failed only once it has been
    // healthy for failback.stableSeconds and the dwell time since the failover has passed.
    private bool MayRunPods(Pass pass, DePinLease lease, FallbackSpec fallback, DateTimeOffset now)
    {
        if (pass.Status.LastFailover is { Provider: { } provider, Time: { } at } && provider == lease.Spec.Provider.Id && now < Utc(at) + Dwell(fallback))
        {
            return false;
        }

        return pass.Health(health, lease) is not { } measured || measured.State switch
        {
            HealthState.Unknown => true,
            HealthState.Healthy => measured.FailedAt is null || now - measured.Since >= TimeSpan.FromSeconds(fallback.Failback.StableSeconds),
            _ => false,
        };
    }

    // Records the failover, takes a failed lease's pods off its virtual node at once (the provider is not
    // waited for), and with re-auction closes the lease so that its replicas are auctioned again.
    private async Task FailOverAsync(Pass pass, DePinLease lease, FallbackSpec fallback, CancellationToken cancellationToken)
    {
        var deployment = pass.Resource;
        // The same reading that found the lease failed: the probes may have passed again since, and the
        // lease's status may be older still, so reading either now could date the failure wrongly.
        var measured = pass.Health(health, lease);
        var detected = measured is { State: HealthState.Unhealthy } ? measured.Value.Since
            : lease.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.SlaHealthy)?.LastTransitionTime is { } changed ? Utc(changed)
            : pass.Now;
        var reason = measured?.Reason ?? lease.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.SlaHealthy)?.Reason ?? "SLAFailed";
        var onLease = pods.Cache.ByIndex(InformerCache<V1Pod>.OwnerIndex, deployment.Metadata.Uid).Where(p => Names.Get(p.Metadata.Labels, Names.LeaseLabel) == lease.Spec.LeaseId).ToList();

        // A failover is a move of pods: a lease that fails again with no pods on it moves nothing. It is
        // written before the pods go: were the write lost (a conflict), the next pass would find no pods
        // to move, and neither the failover nor the provider to leave out of the re-auction would be kept.
        var status = pass.Status;
        var moved = onLease.Any(p => p.Metadata.DeletionTimestamp is null);
        if (moved && (status.LastFailover is not { } last || last.Provider != lease.Spec.Provider.Id || last.Time is not { } at || Math.Abs((Utc(at) - detected).TotalSeconds) >= 1))
        {
            var now = time.GetUtcNow();
            foreach (var old in _failoverSeconds.Keys.Where(k => now - k.Detected > TimeSpan.FromMinutes(10)))
            {
                _failoverSeconds.TryRemove(old, out _);
            }

            var seconds = _failoverSeconds.GetOrAdd((deployment.Metadata.Uid, detected), _ => Math.Max(0, (now - detected).TotalSeconds));
            status.LastFailover = new FailoverStatus { Time = detected.UtcDateTime, Reason = reason, Provider = lease.Spec.Provider.Id, Seconds = Math.Round(seconds, 3) };
            status.FailedProviders = [.. (status.FailedProviders ?? []).Where(f => f.Provider != lease.Spec.Provider.Id && pass.Now - Utc(f.At) < FailedProviderMemory), new FailedProvider { Provider = lease.Spec.Provider.Id, At = detected.UtcDateTime, Reason = reason }];
            _failovers[deployment.Metadata.Uid] = detected;
            await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
        }

        foreach (var pod in onLease)
        {
            await ReleasePodAsync(pod, cancellationToken).ConfigureAwait(false);
        }

        if (fallback.Reauction && lease.Metadata.DeletionTimestamp is null)
        {
            await DeleteLeaseAsync(lease, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(deployment, "Normal", "Reauction", $"lease {lease.Spec.LeaseId} with {lease.Spec.Provider.Id} is closed; its replicas go to a new auction without that provider", cancellationToken).ConfigureAwait(false);
        }
    }

    // Deletes a pod at once, as for a node that is gone: the provider is not waited for.
    private Task ReleasePodAsync(V1Pod pod, CancellationToken cancellationToken) =>
        ClusterObjects.DeletePodAsync(kubernetes, pod, 0, cancellationToken);

    private async Task<ReconcileResult> StallAsync(Pass pass, SpecProblem problem, CancellationToken cancellationToken)
    {
        pass.Status.Phase = DeploymentPhase.Failed;
        Kstatus.SetStalled(pass.Conditions, problem.Reason, problem.Message, pass.Generation, pass.Now);
        await WriteAsync(pass, cancellationToken).ConfigureAwait(false);
        await events.RecordAsync(pass.Resource, "Warning", problem.Reason, problem.Message, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done;
    }

    // Times as stored lose precision; moves are never less than a second apart.
    private static bool Same(DateTime? stored, DateTime time) => stored is { } at && Math.Abs((at - time).TotalSeconds) < 1;

    // Writes the status. A failover or failback counts (metrics, Event) when the write that records it
    // succeeds: a pass on a stale copy fails its write with a conflict, so no move is counted twice.
    private async Task WriteAsync(Pass pass, CancellationToken cancellationToken)
    {
        pass.Status.ObservedGeneration = pass.Generation;
        pass.Status.Selector = Names.Selector(pass.Resource);
        var before = pass.Resource.Status;
        if (await statusWriter.WriteAsync(pass.Resource, pass.Status, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return;
        }

        pass.Resource = stored;
        if (pass.Status.LastFailover is { Time: { } failedOver } failover && !Same(before?.LastFailover?.Time, failedOver))
        {
            LogFailedOver(logger, stored.Metadata.NamespaceProperty, stored.Metadata.Name, failover.Provider ?? "", failover.Reason ?? "", failedOver, before?.LastFailover?.Time, stored.Metadata.ResourceVersion);
            OperatorMetrics.Failovers.Add(1, new KeyValuePair<string, object?>("reason", failover.Reason));
            OperatorMetrics.FailoverSeconds.Record(failover.Seconds ?? 0, new KeyValuePair<string, object?>("stage", "created"));
            await events.RecordAsync(stored, "Warning", "FailedOver", string.Create(CultureInfo.InvariantCulture, $"replicas moved from {failover.Provider} to cloud nodes {failover.Seconds:0.###} s after the failure ({failover.Reason})"), cancellationToken).ConfigureAwait(false);
        }

        if (pass.Status.LastFailback is { Time: { } failedBack } failback && !Same(before?.LastFailback?.Time, failedBack))
        {
            LogFailedBack(logger, stored.Metadata.NamespaceProperty, stored.Metadata.Name, failback.Provider ?? "", failedBack, before?.LastFailback?.Time, stored.Metadata.ResourceVersion);
            OperatorMetrics.Failbacks.Add(1, new KeyValuePair<string, object?>("reason", failback.Provider == pass.Status.LastFailover?.Provider ? "recovered" : "new_lease"));
            await events.RecordAsync(stored, "Normal", "FailedBack", string.Create(CultureInfo.InvariantCulture, $"every replica runs on {failback.Provider} again after {failback.SecondsOnFallback:0.#} s on cloud nodes; the cloud pods are removed"), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CreatePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            await kubernetes.CoreV1.CreateNamespacedPodAsync(pod, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Made by an earlier pass whose result the cache has not shown yet.
        }
    }

    private Task DeletePodAsync(V1Pod pod, CancellationToken cancellationToken) =>
        ClusterObjects.DeletePodAsync(kubernetes, pod, null, cancellationToken);

    private async Task DeleteLeaseAsync(DePinLease lease, CancellationToken cancellationToken)
    {
        try
        {
            await kubernetes.CustomObjects.DeleteNamespacedCustomObjectAsync(DePinApi.Group, DePinApi.Version, lease.Metadata.NamespaceProperty, DePinLease.KubePluralName, lease.Metadata.Name, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = lease.Metadata.Uid } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone already.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}/{Name}: failover from {Provider} ({Reason}) detected at {Detected:O} recorded (the last one before: {Previous:O}), resourceVersion {ResourceVersion}")]
    private static partial void LogFailedOver(ILogger logger, string @namespace, string name, string provider, string reason, DateTime detected, DateTime? previous, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}/{Name}: failback to {Provider} at {Time:O} recorded (the last one before: {Previous:O}), resourceVersion {ResourceVersion}")]
    private static partial void LogFailedBack(ILogger logger, string @namespace, string name, string provider, DateTime time, DateTime? previous, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "closed lease {LeaseId} of order {OrderId} of {Deployment}, which had no DePinLease")]
    private static partial void LogOrphanClosed(ILogger logger, string leaseId, string orderId, string deployment);

    // The state of one reconcile: the resource as last written, and the status being built from it.
    private sealed class Pass(DePinDeployment resource, DateTimeOffset now)
    {
        public DePinDeployment Resource { get; set; } = resource;

        public DePinDeploymentStatus Status { get; } = resource.Status is { } status ? ClusterObjects.Copy(status) : new DePinDeploymentStatus();

        public DateTimeOffset Now { get; } = now;

        public long? Generation => Resource.Metadata.Generation;

        public IList<V1Condition> Conditions => Status.Conditions ??= [];

        // Each lease's health as first read in this pass: every decision of a pass sees the same reading.
        private Dictionary<string, HealthReading?> Readings { get; } = new(StringComparer.Ordinal);

        public HealthReading? Health(LeaseHealthRegistry registry, DePinLease lease)
        {
            var uid = lease.Metadata.Uid;
            if (!Readings.TryGetValue(uid, out var reading))
            {
                Readings[uid] = reading = registry.Get(uid)?.Read();
            }

            return reading;
        }
    }
}
