using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using DePin.Api;
using DePin.Api.V1Alpha1;
using DePin.Ethereum.Rpc;
using DePin.Marketplace;
using DePin.Operator.Deployments;
using DePin.Operator.Health;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Events;
using DePin.Runtime.Informers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.Operator.Controllers;

/// <summary>
/// Keeps a DePinLease's world in step: its virtual node (capacity, labels, taint), the node's Lease in
/// <c>kube-node-lease</c>, renewed only while the provider's signed heartbeat verifies, and the node's
/// Ready condition, which follows the heartbeat; the lease's escrow and heartbeat figures in status;
/// escrow top-ups within the deployment's budget; and remote pods the cluster no longer knows, which
/// are removed. Deleting the lease removes its pods, closes it on the marketplace (the unspent escrow
/// returns) and removes the node.
/// </summary>
internal sealed partial class LeaseReconciler(
    IKubernetes kubernetes,
    MarketplaceConnector connector,
    Informer<DePinMarketplace> marketplaces,
    Informer<DePinDeployment> deployments,
    Informer<V1Node> nodes,
    Informer<V1Pod> pods,
    StatusWriter<DePinLease> statusWriter,
    LeaseHealthRegistry health,
    HttpClient http,
    EventRecorder events,
    TimeProvider time,
    ILogger<LeaseReconciler> logger) : IReconciler<DePinLease>
{
    /// <summary>Seconds a node's Lease lasts without renewal, as the kubelet's default.</summary>
    public const int NodeLeaseSeconds = 40;

    /// <summary>Time a deleted lease waits for its pods to go from the provider before it is closed regardless.</summary>
    public static readonly TimeSpan PodRemovalGrace = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CounterFlush = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OrphanSweep = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _flushed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _swept = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _budgets = new(StringComparer.Ordinal);

    public string? Finalizer => Names.LeaseFinalizer;

    public async Task<ReconcileResult> ReconcileAsync(DePinLease resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var now = time.GetUtcNow();
        ConnectedMarketplace market;
        try
        {
            market = await connector.ForAsync(resource.Spec.Marketplace, marketplaces.Cache, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MarketplaceConfigurationException or HttpRequestException or JsonRpcException or TimeoutException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            LogMarketplaceUnavailable(logger, ObjectKey.Of(resource), e.Message);
            return ReconcileResult.After(TimeSpan.FromSeconds(10));
        }

        var status = resource.Status is { } old ? ClusterObjects.Copy(old) : new DePinLeaseStatus();
        var conditions = status.Conditions ??= [];
        var nodeName = Names.Node(resource.Spec.Marketplace, resource.Spec.LeaseId);
        var node = nodes.Cache.Get(nodeName) ?? await CreateNodeAsync(resource, nodeName, cancellationToken).ConfigureAwait(false);
        status.NodeName = nodeName;
        status.ObservedGeneration = resource.Metadata.Generation;

        // The provider's signed heartbeat, as the lease monitor follows it, decides the node's health; nothing else renews its Lease.
        var measured = health.GetOrAdd(resource);
        var alive = measured.State == HealthState.Healthy && measured.LastHeartbeat is { } beat && now - beat < TimeSpan.FromSeconds(NodeLeaseSeconds / 2);
        var problem = measured.State switch
        {
            HealthState.Unhealthy => $"{measured.Reason}: {measured.Message}",
            HealthState.Unknown => "waiting for the provider's first signed heartbeat",
            _ => alive ? null : "no recent signed heartbeat",
        };
        if (alive)
        {
            await RenewNodeLeaseAsync(nodeName, node.Metadata.Uid, now, cancellationToken).ConfigureAwait(false);
        }

        await SetNodeReadyAsync(node, resource, alive, alive ? "the provider's signed heartbeat verifies" : problem!, now, cancellationToken).ConfigureAwait(false);

        var closed = false;
        if (market.Tenant is not null)
        {
            var info = await market.Marketplace.GetLeaseAsync(resource.Spec.LeaseId, cancellationToken).ConfigureAwait(false);
            closed = info is null || info.Closed;
            if (info?.Escrow is { } escrow)
            {
                status.Escrow ??= new EscrowStatus();
                status.Escrow.Deposited = TokenAmount.Format(escrow.Deposited, market.TokenDecimals);
                status.Escrow.Accrued = TokenAmount.Format(escrow.Accrued, market.TokenDecimals);
                status.Escrow.Remaining = TokenAmount.Format(escrow.Remaining, market.TokenDecimals);
                status.Escrow.RunsOutAt = escrow.RunsOutAt.UtcDateTime;
                status.Escrow.TopUps = status.Escrow.TopUps?.Where(t => now - ClusterObjects.Utc(t.Time) < TimeSpan.FromDays(1)).ToList() is { Count: > 0 } recent ? recent : null;
                if (!closed && !escrow.Insolvent)
                {
                    resource = await TopUpAsync(resource, status, escrow, market, now, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        if (alive && !closed)
        {
            await SweepOrphansAsync(resource, market, nodeName, now, cancellationToken).ConfigureAwait(false);
        }

        var state = closed ? LeaseState.Closed
            : measured.State switch
            {
                HealthState.Healthy => LeaseState.Active,
                HealthState.Unhealthy => LeaseState.Degraded,
                _ => LeaseState.Pending,
            };
        status.State = state;
        Conditions.Set(conditions, ConditionTypes.Ready, alive && !closed ? "True" : "False", closed ? "LeaseClosed" : alive ? "HeartbeatVerified" : measured.Reason ?? "NotMeasured", closed ? "the lease is closed on the marketplace" : alive ? $"virtual node {nodeName} is Ready" : problem!, resource.Metadata.Generation, now);
        Conditions.Set(conditions, ConditionTypes.SlaHealthy, state == LeaseState.Degraded ? "False" : state == LeaseState.Active ? "True" : "Unknown", state switch
        {
            LeaseState.Degraded => measured.Reason ?? "SLAFailed",
            LeaseState.Active => "ProbesPassing",
            _ => "NotMeasured",
        }, state == LeaseState.Degraded ? measured.Message ?? "" : state == LeaseState.Active ? "the heartbeat verifies and the probes pass" : "not measured yet", resource.Metadata.Generation, now);

        // The counters change every round; they are written when something else changes, or every 30 s.
        var flushed = _flushed.GetValueOrDefault(resource.Metadata.Uid);
        var flush = now - flushed >= CounterFlush || resource.Status?.State != state || resource.Status?.NodeName != nodeName;
        status.Sla = flush || resource.Status?.Sla is null ? measured.ToStatus() : resource.Status.Sla;
        if (await statusWriter.WriteAsync(resource, status, cancellationToken).ConfigureAwait(false) is not null && flush)
        {
            _flushed[resource.Metadata.Uid] = now;
        }

        if (resource.Status?.State != state && state is LeaseState.Active or LeaseState.Degraded or LeaseState.Closed)
        {
            await events.RecordAsync(resource, state == LeaseState.Active ? "Normal" : "Warning", state switch
            {
                LeaseState.Active => "ProviderHealthy",
                LeaseState.Degraded => "ProviderUnhealthy",
                _ => "LeaseClosedByMarketplace",
            }, state == LeaseState.Active ? $"virtual node {nodeName} is Ready" : problem ?? "the lease was closed on the marketplace", cancellationToken).ConfigureAwait(false);
        }

        return ReconcileResult.After(Period);
    }

    public async Task<ReconcileResult> FinalizeAsync(DePinLease resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var now = time.GetUtcNow();
        var nodeName = Names.Node(resource.Spec.Marketplace, resource.Spec.LeaseId);
        if (resource.Status?.State is not (LeaseState.Closing or LeaseState.Closed))
        {
            var status = resource.Status is { } old ? ClusterObjects.Copy(old) : new DePinLeaseStatus();
            status.State = LeaseState.Closing;
            resource = await statusWriter.WriteAsync(resource, status, cancellationToken).ConfigureAwait(false) ?? resource;
        }

        // Pods first: the pod controller removes each from the provider and only then lets it go.
        var onNode = pods.Cache.ByIndex(PodIndexes.NodeName, nodeName);
        foreach (var pod in onNode.Where(p => p.Metadata.DeletionTimestamp is null))
        {
            await ClusterObjects.DeletePodAsync(kubernetes, pod, null, cancellationToken).ConfigureAwait(false);
        }

        var deleting = resource.Metadata.DeletionTimestamp is { } since ? ClusterObjects.Utc(since) : now;
        if (onNode.Count > 0 && now - deleting < PodRemovalGrace)
        {
            return ReconcileResult.After(TimeSpan.FromSeconds(1));
        }

        if (onNode.Count > 0)
        {
            // The provider does not answer: the lease is closed anyway, which obliges it to stop the pods and stops the payment.
            await events.RecordAsync(resource, "Warning", "PodsNotConfirmed", $"{onNode.Count} pods were not confirmed removed by {resource.Spec.Provider.Id} within {PodRemovalGrace.TotalSeconds:0} s; closing the lease regardless", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var market = await connector.ForAsync(resource.Spec.Marketplace, marketplaces.Cache, cancellationToken).ConfigureAwait(false);
            await market.Marketplace.CloseLeaseAsync(resource.Spec.LeaseId, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(resource, "Normal", "LeaseClosed", $"lease {resource.Spec.LeaseId} with {resource.Spec.Provider.Id} is closed; unspent escrow is refunded", cancellationToken).ConfigureAwait(false);
        }
        catch (MarketplaceConfigurationException e) when (e.Reason == "MarketplaceNotFound")
        {
            await events.RecordAsync(resource, "Warning", "MarketplaceGone", $"lease {resource.Spec.LeaseId} cannot be closed: {e.Message}", cancellationToken).ConfigureAwait(false);
        }
        catch (MarketplaceException e) when (e.InnerException is HttpRequestException && now - deleting >= PodRemovalGrace)
        {
            // A static provider that is down holds no payment; its agent drops the lease when told, or never runs it again.
            await events.RecordAsync(resource, "Warning", "ProviderUnreachable", $"lease {resource.Spec.LeaseId}: {e.Message}; released without the provider's confirmation", cancellationToken).ConfigureAwait(false);
        }

        await DeleteNodeAsync(nodeName, cancellationToken).ConfigureAwait(false);
        _flushed.TryRemove(resource.Metadata.Uid, out _);
        _swept.TryRemove(resource.Metadata.Uid, out _);
        health.Forget(resource.Metadata.Uid);
        return ReconcileResult.Done;
    }

    private async Task<V1Node> CreateNodeAsync(DePinLease lease, string nodeName, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["type"] = "virtual-kubelet",
            ["kubernetes.io/role"] = "agent",
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/hostname"] = nodeName.Length <= 63 ? nodeName : nodeName[..63].TrimEnd('-', '.'),
        };
        if (Names.LabelValue(lease.Spec.Provider.Id) is { } provider)
        {
            labels[Names.ProviderLabel] = provider;
        }

        if (Names.LabelValue(lease.Spec.LeaseId) is { } leaseId)
        {
            labels[Names.LeaseLabel] = leaseId;
        }

        if (Names.LabelValue(lease.Spec.Provider.Region) is { } region)
        {
            labels["topology.kubernetes.io/region"] = region;
        }

        if (lease.Spec.Provider.GpuModels is { Count: > 0 } models && Names.LabelValue(models[0]) is { } model)
        {
            labels[Names.GpuModelLabel] = model;
        }

        var node = new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta
            {
                Name = nodeName,
                Labels = labels,
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["depin.dev/lease-object"] = ObjectKey.Of(lease),
                    ["depin.dev/provider-endpoint"] = lease.Spec.Provider.Endpoint,
                },
            },
            Spec = new V1NodeSpec { Taints = [Names.VirtualNodeTaint] },
        };
        try
        {
            node = await kubernetes.CoreV1.CreateNodeAsync(node, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            node = await kubernetes.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var replicas = lease.Spec.Replicas;
        var perReplica = lease.Spec.Resources ?? new ProviderCapacity();
        var capacity = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cpu"] = Scale(perReplica.Cpu, replicas, 1000, "m") ?? "0",
            ["memory"] = Scale(perReplica.Memory, replicas, 1.0m / (1024 * 1024), "Mi") ?? "0",
            ["pods"] = replicas.ToString(CultureInfo.InvariantCulture),
        };
        if (Scale(perReplica.Disk, replicas, 1.0m / (1024 * 1024), "Mi") is { } disk)
        {
            capacity["ephemeral-storage"] = disk;
        }

        if (perReplica.Gpus is > 0 and var gpus)
        {
            capacity["nvidia.com/gpu"] = (gpus * replicas).ToString(CultureInfo.InvariantCulture);
        }

        var host = Uri.TryCreate(lease.Spec.Provider.Endpoint, UriKind.Absolute, out var endpoint) ? endpoint.Host : "";
        var statusPatch = new
        {
            status = new
            {
                capacity,
                allocatable = capacity,
                addresses = new[] { new { type = IPAddress.TryParse(host, out _) ? "InternalIP" : "Hostname", address = host } },
                nodeInfo = new
                {
                    architecture = "amd64",
                    operatingSystem = "linux",
                    kubeletVersion = "depin-provider-agent",
                    kernelVersion = "",
                    osImage = $"provider {lease.Spec.Provider.Id}",
                    containerRuntimeVersion = "",
                    kubeProxyVersion = "",
                    machineID = "",
                    systemUUID = "",
                    bootID = "",
                },
                conditions = new[] { NodeCondition(false, "Registered", "waiting for the provider's first signed heartbeat", time.GetUtcNow()) },
            },
        };
        return await kubernetes.CoreV1.PatchNodeStatusAsync(new V1Patch(JsonSerializer.Serialize(statusPatch), V1Patch.PatchType.MergePatch), nodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static string? Scale(ResourceQuantity? quantity, int replicas, decimal factor, string suffix)
    {
        if (quantity is null)
        {
            return null;
        }

        var value = Math.Ceiling(quantity.ToDecimal() * factor * replicas);
        return value.ToString("0", CultureInfo.InvariantCulture) + suffix;
    }

    private static object NodeCondition(bool ready, string reason, string message, DateTimeOffset now) => new
    {
        type = "Ready",
        status = ready ? "True" : "False",
        reason,
        message,
        lastHeartbeatTime = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        lastTransitionTime = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
    };

    private async Task SetNodeReadyAsync(V1Node node, DePinLease lease, bool ready, string message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var reason = ready ? "ProviderHeartbeatVerified" : "ProviderHeartbeatFailed";
        if (current is not null && current.Status == (ready ? "True" : "False") && current.Reason == reason)
        {
            return;
        }

        var patch = new { status = new { conditions = new[] { NodeCondition(ready, reason, message, now) } } };
        await kubernetes.CoreV1.PatchNodeStatusAsync(new V1Patch(JsonSerializer.Serialize(patch), V1Patch.PatchType.MergePatch), node.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        LogNodeReady(logger, node.Metadata.Name, ready, lease.Metadata.Name);
    }

    private async Task RenewNodeLeaseAsync(string nodeName, string nodeUid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var renew = new { spec = new { holderIdentity = nodeName, leaseDurationSeconds = NodeLeaseSeconds, renewTime = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture) } };
        try
        {
            await kubernetes.CoordinationV1.PatchNamespacedLeaseAsync(new V1Patch(JsonSerializer.Serialize(renew), V1Patch.PatchType.MergePatch), nodeName, Names.NodeLeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            var lease = new V1Lease
            {
                Metadata = new V1ObjectMeta
                {
                    Name = nodeName,
                    NamespaceProperty = Names.NodeLeaseNamespace,
                    OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Node", Name = nodeName, Uid = nodeUid }],
                },
                Spec = new V1LeaseSpec { HolderIdentity = nodeName, LeaseDurationSeconds = NodeLeaseSeconds, RenewTime = now.UtcDateTime },
            };
            try
            {
                await kubernetes.CoordinationV1.CreateNamespacedLeaseAsync(lease, Names.NodeLeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException conflict) when (conflict.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Created meanwhile; the next round renews it.
            }
        }
    }

    private async Task DeleteNodeAsync(string nodeName, CancellationToken cancellationToken)
    {
        try
        {
            await kubernetes.CoordinationV1.DeleteNamespacedLeaseAsync(nodeName, Names.NodeLeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone already.
        }

        try
        {
            await kubernetes.CoreV1.DeleteNodeAsync(nodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone already.
        }
    }

    // Tops the escrow up to the lease's horizon once less than a quarter of it (at least an hour) is left,
    // never beyond the deployment's budget for any 24 hours. The top-up is written to status before it
    // is sent, so a restart in between counts it against the budget rather than sending it twice unseen.
    private async Task<DePinLease> TopUpAsync(DePinLease lease, DePinLeaseStatus status, LeaseEscrow escrow, ConnectedMarketplace market, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deployment = deployments.Cache.Get(ObjectKey.Of(lease.Metadata.NamespaceProperty, lease.Spec.Deployment));
        if (deployment?.Spec.Bidding is not { AutoTopUp: true, Budget.MaxSpendPerDay: { } budgetText } bidding || deployment.Metadata.DeletionTimestamp is not null)
        {
            return lease;
        }

        var decimals = market.TokenDecimals;
        var rate = TokenAmount.Parse(lease.Spec.PricePerHour, decimals) * lease.Spec.Replicas;
        var threshold = rate * Math.Max(1, bidding.LeaseHours / 4);
        if (escrow.Remaining >= threshold || rate.IsZero)
        {
            return lease;
        }

        var gate = _budgets.GetOrAdd(deployment.Metadata.Uid, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var budget = TokenAmount.Parse(budgetText, decimals);
            var siblings = await LeaseLists.OfDeploymentAsync(kubernetes, lease.Metadata.NamespaceProperty, deployment.Metadata.Uid, cancellationToken).ConfigureAwait(false);
            var spentToday = siblings
                .Where(l => l.Metadata.Uid != lease.Metadata.Uid)
                .SelectMany(l => l.Status?.Escrow?.TopUps ?? [])
                .Concat(status.Escrow?.TopUps ?? [])
                .Where(t => now - ClusterObjects.Utc(t.Time) < TimeSpan.FromDays(1))
                .Aggregate(BigInteger.Zero, (sum, t) => sum + TokenAmount.Parse(t.Amount, decimals));
            var amount = BigInteger.Min((rate * bidding.LeaseHours) - escrow.Remaining, budget - spentToday);
            if (amount <= 0)
            {
                await events.RecordAsync(lease, "Warning", "BudgetExhausted", $"the escrow runs out at {escrow.RunsOutAt:u}, and top-ups of the last 24 hours ({TokenAmount.Format(spentToday, decimals)}) already reach bidding.budget.maxSpendPerDay", cancellationToken).ConfigureAwait(false);
                return lease;
            }

            status.Escrow!.TopUps = [.. status.Escrow.TopUps ?? [], new TopUpRecord { Time = now.UtcDateTime, Amount = TokenAmount.Format(amount, decimals) }];
            lease = await statusWriter.WriteAsync(lease, status, cancellationToken).ConfigureAwait(false) ?? lease;
            await market.Marketplace.TopUpAsync(lease.Spec.LeaseId, amount, cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(lease, "Normal", "EscrowToppedUp", $"added {TokenAmount.Format(amount, decimals)} to the escrow of lease {lease.Spec.LeaseId}", cancellationToken).ConfigureAwait(false);
            return lease;
        }
        finally
        {
            gate.Release();
        }
    }

    // Pods the provider runs for the lease that no pod in the cluster stands for any more (deleted with
    // a zero grace period, or while the operator was down) are removed from the provider.
    private async Task SweepOrphansAsync(DePinLease lease, ConnectedMarketplace market, string nodeName, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (now - _swept.GetValueOrDefault(lease.Metadata.Uid) < OrphanSweep)
        {
            return;
        }

        _swept[lease.Metadata.Uid] = now;
        var client = MarketplaceConnector.Agent(market, lease.Spec.Provider, http, time);
        try
        {
            // A pod is sent only once the cache holds it, so a pod at the provider that the cache lacks is an orphan.
            var onNode = pods.Cache.ByIndex(PodIndexes.NodeName, nodeName);
            if (await PodReconciler.ReclaimAsync(client, lease, onNode, cancellationToken).ConfigureAwait(false) is > 0 and var removed)
            {
                LogOrphansRemoved(logger, removed, lease.Spec.LeaseId);
            }
        }
        catch (Exception e) when (e is AgentRequestFailedException or HttpRequestException)
        {
            LogSweepFailed(logger, lease.Spec.LeaseId, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "virtual node {Node} of lease {Lease}: Ready={Ready}")]
    private static partial void LogNodeReady(ILogger logger, string node, bool ready, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Lease}: its marketplace cannot be used yet: {Error}")]
    private static partial void LogMarketplaceUnavailable(ILogger logger, string lease, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "removed {Count} pods from the provider of lease {LeaseId}: no pod in the cluster stands for them")]
    private static partial void LogOrphansRemoved(ILogger logger, int count, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {LeaseId}: listing the provider's pods failed: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string leaseId, string error);
}
