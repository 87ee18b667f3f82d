using DePin.Api.Schema;
using k8s;
using k8s.Models;

namespace DePin.Api.V1Alpha1;

/// <summary>
/// A lease with one provider for some replicas of a DePinDeployment. The operator creates one per
/// accepted bid, owned by the deployment; users read it, they do not write it.
/// </summary>
[KubernetesEntity(Group = DePinApi.Group, ApiVersion = DePinApi.Version, Kind = KubeKind, PluralName = KubePluralName)]
[Scope(namespaced: true)]
[KubectlNames("dpl", Category = DePinApi.Category)]
[PrinterColumn("Deployment", "string", ".spec.deployment")]
[PrinterColumn("Provider", "string", ".spec.provider.id")]
[PrinterColumn("State", "string", ".status.state")]
[PrinterColumn("Price/h", "string", ".spec.pricePerHour", Description = "Price per replica per hour")]
[PrinterColumn("Replicas", "integer", ".spec.replicas")]
[PrinterColumn("Node", "string", ".status.nodeName", Priority = 1)]
[PrinterColumn("Remaining", "string", ".status.escrow.remaining", Description = "Escrow left", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class DePinLease : IKubernetesObject<V1ObjectMeta>, ISpec<DePinLeaseSpec>, IStatus<DePinLeaseStatus?>
{
    /// <summary>The kind.</summary>
    public const string KubeKind = "DePinLease";

    /// <summary>The plural resource name.</summary>
    public const string KubePluralName = "depinleases";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    public string ApiVersion { get; set; } = DePinApi.GroupVersion;

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    public string Kind { get; set; } = KubeKind;

    /// <summary>Standard object metadata.</summary>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The terms of the lease, fixed when it opens.</summary>
    [Required]
    public DePinLeaseSpec Spec { get; set; } = new();

    /// <summary>Escrow and SLA as last observed.</summary>
    public DePinLeaseStatus? Status { get; set; }
}

/// <summary>The terms of a lease.</summary>
public sealed class DePinLeaseSpec
{
    /// <summary>Name of the DePinDeployment in the same namespace that the lease serves.</summary>
    [Required]
    [Pattern(Patterns.ObjectName)]
    [Length(Min = 1, Max = 253)]
    [CelRule("self == oldSelf", "deployment is immutable")]
    public string Deployment { get; set; } = "";

    /// <summary>Name of the DePinMarketplace the lease was opened on.</summary>
    [Required]
    [Pattern(Patterns.ObjectName)]
    [Length(Min = 1, Max = 253)]
    [CelRule("self == oldSelf", "marketplace is immutable")]
    public string Marketplace { get; set; } = "";

    /// <summary>Id of the lease on the marketplace.</summary>
    [Required]
    [Length(Min = 1, Max = 128)]
    [CelRule("self == oldSelf", "leaseId is immutable")]
    public string LeaseId { get; set; } = "";

    /// <summary>Id of the order the lease was won on.</summary>
    [Required]
    [Length(Min = 1, Max = 128)]
    [CelRule("self == oldSelf", "orderId is immutable")]
    public string OrderId { get; set; } = "";

    /// <summary>The provider that runs the replicas.</summary>
    [Required]
    public ProviderInfo Provider { get; set; } = new();

    /// <summary>Price per replica per hour, a decimal amount of the payment token.</summary>
    [Required]
    [Pattern(Patterns.Amount)]
    [Length(Max = 40)]
    public string PricePerHour { get; set; } = "";

    /// <summary>Resources leased for each replica.</summary>
    public ProviderCapacity? Resources { get; set; }

    /// <summary>Replicas the lease runs.</summary>
    [Minimum(0)]
    [Maximum(1000)]
    [Default(1)]
    public int Replicas { get; set; } = 1;
}

/// <summary>State of a lease.</summary>
public enum LeaseState
{
    /// <summary>Accepted on the marketplace; the virtual node is not Ready yet.</summary>
    Pending,

    /// <summary>The provider answers and meets the SLA.</summary>
    Active,

    /// <summary>The provider misses the SLA.</summary>
    Degraded,

    /// <summary>Pods are being removed and the lease closed on the marketplace.</summary>
    Closing,

    /// <summary>Closed on the marketplace; unspent escrow refunded.</summary>
    Closed,
}

/// <summary>Observed state of a lease.</summary>
public sealed class DePinLeaseStatus
{
    /// <summary>State of the lease.</summary>
    public LeaseState? State { get; set; }

    /// <summary>The generation of the spec the status describes.</summary>
    [Minimum(0)]
    public long? ObservedGeneration { get; set; }

    /// <summary>Name of the virtual node that represents the lease.</summary>
    public string? NodeName { get; set; }

    /// <summary>Payment held for the lease.</summary>
    public EscrowStatus? Escrow { get; set; }

    /// <summary>Service level measured for the lease.</summary>
    public SlaStatus? Sla { get; set; }

    /// <summary>Ready and SLAHealthy.</summary>
    [ListType("map", "type")]
    public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>Escrowed payment of a lease, in decimal amounts of the payment token.</summary>
public sealed class EscrowStatus
{
    /// <summary>Total deposited, including top-ups.</summary>
    [Pattern(Patterns.Amount)]
    public string? Deposited { get; set; }

    /// <summary>Amount streamed to the provider so far.</summary>
    [Pattern(Patterns.Amount)]
    public string? Accrued { get; set; }

    /// <summary>Amount still held.</summary>
    [Pattern(Patterns.Amount)]
    public string? Remaining { get; set; }

    /// <summary>When the remaining escrow runs out at the current price.</summary>
    public DateTime? RunsOutAt { get; set; }

    /// <summary>Top-ups of the last 24 hours, which count against <c>bidding.budget.maxSpendPerDay</c>.</summary>
    [Items(Max = 1000)]
    public IList<TopUpRecord>? TopUps { get; set; }
}

/// <summary>One top-up of a lease's escrow.</summary>
public sealed class TopUpRecord
{
    /// <summary>When it was sent.</summary>
    [Required]
    public DateTime Time { get; set; }

    /// <summary>Amount added, a decimal amount of the payment token.</summary>
    [Required]
    [Pattern(Patterns.Amount)]
    public string Amount { get; set; } = "";
}

/// <summary>Probe results of a lease.</summary>
public sealed class SlaStatus
{
    /// <summary>Probe rounds that passed.</summary>
    [Minimum(0)]
    public long? ProbesOk { get; set; }

    /// <summary>Probe rounds that failed.</summary>
    [Minimum(0)]
    public long? ProbesFailed { get; set; }

    /// <summary>Failed rounds since the last one that passed.</summary>
    [Minimum(0)]
    public int? ConsecutiveFailures { get; set; }

    /// <summary>Passed rounds over all rounds, from 0 to 1.</summary>
    [Minimum(0)]
    [Maximum(1)]
    public double? UptimeRatio { get; set; }

    /// <summary>Median probe latency in milliseconds over the recent window.</summary>
    [Minimum(0)]
    public double? LatencyP50Ms { get; set; }

    /// <summary>99th-percentile probe latency in milliseconds over the recent window.</summary>
    [Minimum(0)]
    public double? LatencyP99Ms { get; set; }

    /// <summary>When the provider's last verified heartbeat arrived.</summary>
    public DateTime? LastHeartbeat { get; set; }
}
