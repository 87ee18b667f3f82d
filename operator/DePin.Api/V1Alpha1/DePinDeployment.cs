using System.Text.Json.Serialization;
using DePin.Api.Schema;
using k8s;
using k8s.Models;

namespace DePin.Api.V1Alpha1;

/// <summary>
/// A workload that runs on hardware leased from a decentralized compute marketplace, with automatic
/// fallback to ordinary cloud nodes when the provider misses its SLA.
/// </summary>
[KubernetesEntity(Group = DePinApi.Group, ApiVersion = DePinApi.Version, Kind = KubeKind, PluralName = KubePluralName)]
[Scope(namespaced: true)]
[KubectlNames("dpd", Category = DePinApi.Category)]
[ScaleSubresource(".spec.replicas", ".status.replicas", ".status.selector")]
[PrinterColumn("Phase", "string", ".status.phase", Description = "Lifecycle phase")]
[PrinterColumn("Provider(s)", "string", ".status.providers", Description = "Providers of the active leases")]
[PrinterColumn("Price/h", "string", ".status.pricePerHour", Description = "Total price per hour of the active leases")]
[PrinterColumn("Ready", "integer", ".status.readyReplicas", Description = "Replicas Ready, on providers and on fallback")]
[PrinterColumn("Fallback", "integer", ".status.fallbackReplicas", Description = "Replicas running on cloud nodes")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class DePinDeployment : IKubernetesObject<V1ObjectMeta>, ISpec<DePinDeploymentSpec>, IStatus<DePinDeploymentStatus?>
{
    /// <summary>The kind.</summary>
    public const string KubeKind = "DePinDeployment";

    /// <summary>The plural resource name.</summary>
    public const string KubePluralName = "depindeployments";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    public string ApiVersion { get; set; } = DePinApi.GroupVersion;

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    public string Kind { get; set; } = KubeKind;

    /// <summary>Standard object metadata.</summary>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>What to run, where it may run, what it may cost and how to keep it healthy.</summary>
    [Required]
    public DePinDeploymentSpec Spec { get; set; } = new();

    /// <summary>What the operator observed and decided.</summary>
    public DePinDeploymentStatus? Status { get; set; }
}

/// <summary>Desired state of a DePinDeployment.</summary>
public sealed class DePinDeploymentSpec
{
    /// <summary>Number of pods to run. Each replica runs on a provider or, during a failover, on a cloud node.</summary>
    [Minimum(0)]
    [Maximum(1000)]
    [Default(1)]
    public int Replicas { get; set; } = 1;

    /// <summary>
    /// Pod template of every replica. Its labels must not use the reserved <c>depin.dev/</c> prefix,
    /// which the operator sets itself.
    /// </summary>
    [Required]
    public V1PodTemplateSpec Template { get; set; } = new();

    /// <summary>The DePinMarketplace that orders are posted to.</summary>
    [Required]
    public MarketplaceReference MarketplaceRef { get; set; } = new();

    /// <summary>Rules every chosen provider must satisfy.</summary>
    [DefaultEmptyObject]
    public PlacementSpec Placement { get; set; } = new();

    /// <summary>How the auction is run and what the workload may cost.</summary>
    [Required]
    public BiddingSpec Bidding { get; set; } = new();

    /// <summary>The service level each provider must keep.</summary>
    public SlaSpec? Sla { get; set; }

    /// <summary>What happens when a provider misses its SLA.</summary>
    [DefaultEmptyObject]
    public FallbackSpec Fallback { get; set; } = new();
}

/// <summary>A reference to a cluster-scoped DePinMarketplace.</summary>
public sealed class MarketplaceReference
{
    /// <summary>Name of the DePinMarketplace.</summary>
    [Required]
    [Pattern(Patterns.ObjectName)]
    [Length(Min = 1, Max = 253)]
    public string Name { get; set; } = "";
}

/// <summary>Placement rules: which providers may run the workload.</summary>
public sealed class PlacementSpec
{
    /// <summary>GPU models any of which is acceptable (for example <c>H100</c>, <c>A100</c>). Empty means no GPU is needed.</summary>
    [ListType("set")]
    [Items(Max = 16)]
    [Pattern(Patterns.LabelValue)]
    public IList<string>? GpuModels { get; set; }

    /// <summary>Jurisdictions the provider's hardware may be in. Empty means anywhere.</summary>
    [ListType("set")]
    [Items(Max = 64)]
    [Pattern(Patterns.LabelValue)]
    public IList<string>? Regions { get; set; }

    /// <summary>Attributes the provider must advertise with exactly these values.</summary>
    [Items(Max = 32)]
    [Length(Max = 256)]
    public IDictionary<string, string>? RequiredAttributes { get; set; }

    /// <summary>
    /// Addresses of auditors at least one of which must have attested the provider's attributes on
    /// the marketplace. Empty means unaudited providers are acceptable.
    /// </summary>
    [ListType("set")]
    [Items(Max = 16)]
    [Pattern(Patterns.Address)]
    public IList<string>? Auditors { get; set; }

    /// <summary>Smallest acceptable reputation: the provider's measured uptime ratio, from 0 to 1.</summary>
    [Minimum(0)]
    [Maximum(1)]
    public double? MinReputation { get; set; }

    /// <summary>Most replicas one provider may run, so that no single provider is a point of failure.</summary>
    [Minimum(1)]
    public int? MaxReplicasPerProvider { get; set; }

    /// <summary>Provider ids never to lease from.</summary>
    [ListType("set")]
    [Items(Max = 256)]
    [Pattern(Patterns.LabelValue)]
    public IList<string>? ExcludeProviders { get; set; }

    /// <summary>
    /// Ship Secret-backed environment variables and volumes to the provider's hardware. Off by
    /// default because providers are not trusted; service-account tokens are never shipped.
    /// </summary>
    [Default(false)]
    public bool AllowSecrets { get; set; }
}

/// <summary>How bids are chosen.</summary>
public enum BidStrategy
{
    /// <summary>The cheapest acceptable bids win.</summary>
    LowestPrice,

    /// <summary>Bids are scored on price, measured reputation and latency; the best scores win.</summary>
    BestScore,
}

/// <summary>Auction and payment settings.</summary>
[CelRule("!self.autoTopUp || has(self.budget)", "autoTopUp requires budget.maxSpendPerDay, so that top-ups are bounded", FieldPath = ".autoTopUp", Reason = "FieldValueRequired")]
public sealed class BiddingSpec
{
    /// <summary>Highest acceptable price per replica per hour, a decimal amount of the payment token (for example <c>2.50</c>).</summary>
    [Required]
    [Pattern(Patterns.PositiveAmount)]
    [Length(Max = 40)]
    public string MaxPricePerHour { get; set; } = "";

    /// <summary>Seconds during which bids are collected after the order is posted.</summary>
    [Minimum(1)]
    [Maximum(3600)]
    [Default(30)]
    public int BidWindowSeconds { get; set; } = 30;

    /// <summary>How the winning bids are chosen.</summary>
    [Default(nameof(BidStrategy.LowestPrice))]
    public BidStrategy Strategy { get; set; } = BidStrategy.LowestPrice;

    /// <summary>Hours of payment escrowed when a lease opens.</summary>
    [Minimum(1)]
    [Maximum(8760)]
    [Default(24)]
    public int LeaseHours { get; set; } = 24;

    /// <summary>Top up a lease's escrow before it runs dry, within <c>budget</c>.</summary>
    [Default(false)]
    public bool AutoTopUp { get; set; }

    /// <summary>Spending limits across all leases of the deployment.</summary>
    public BudgetSpec? Budget { get; set; }
}

/// <summary>Spending limits.</summary>
public sealed class BudgetSpec
{
    /// <summary>Most the deployment may spend in any 24 hours, a decimal amount of the payment token.</summary>
    [Required]
    [Pattern(Patterns.PositiveAmount)]
    [Length(Max = 40)]
    public string MaxSpendPerDay { get; set; } = "";
}

/// <summary>The service level each provider must keep.</summary>
public sealed class SlaSpec
{
    /// <summary>Probe of the workload through the provider's endpoint. The provider's signed heartbeat is always checked.</summary>
    public SlaProbe? Probe { get; set; }

    /// <summary>The start-up deadline when <see cref="StartupSeconds"/> is not set.</summary>
    public const int DefaultStartupSeconds = 300;

    /// <summary>Highest acceptable p99 probe latency in milliseconds.</summary>
    [Minimum(1)]
    [Maximum(600000)]
    public int? MaxLatencyMs { get; set; }

    /// <summary>
    /// Seconds a replica at a provider may go without a Ready pod: from the pod's creation until it is first
    /// Ready, and from the last time it was seen Ready. A provider that refuses, fails or stalls a pod fails
    /// its lease by this deadline, and the replica moves as for any SLA failure. The probe's failures of a
    /// pod that never passed it count once this long has gone by since the pod first started. The default,
    /// 300, leaves time to pull an image of a few GB; raise it for larger images.
    /// </summary>
    [Minimum(1)]
    [Maximum(86400)]
    [Default(DefaultStartupSeconds)]
    public int StartupSeconds { get; set; } = DefaultStartupSeconds;
}

/// <summary>A probe of the workload, run through the provider's endpoint.</summary>
[CelRule("has(self.httpGet) != has(self.tcpSocket)", "exactly one of httpGet and tcpSocket must be set")]
[CelRule("self.timeoutSeconds <= self.periodSeconds", "timeoutSeconds must not exceed periodSeconds", FieldPath = ".timeoutSeconds")]
public sealed class SlaProbe
{
    /// <summary>An HTTP GET that must answer 2xx or 3xx.</summary>
    public HttpGetProbe? HttpGet { get; set; }

    /// <summary>A TCP connection that must open.</summary>
    public TcpSocketProbe? TcpSocket { get; set; }

    /// <summary>Seconds between probe rounds.</summary>
    [Minimum(1)]
    [Maximum(3600)]
    [Default(5)]
    public int PeriodSeconds { get; set; } = 5;

    /// <summary>Seconds after which a probe counts as failed.</summary>
    [Minimum(1)]
    [Maximum(3600)]
    [Default(2)]
    public int TimeoutSeconds { get; set; } = 2;

    /// <summary>Consecutive failed rounds after which the lease is unhealthy.</summary>
    [Minimum(1)]
    [Maximum(100)]
    [Default(3)]
    public int FailureThreshold { get; set; } = 3;
}

/// <summary>URL scheme of an HTTP probe.</summary>
public enum ProbeScheme
{
    /// <summary>Plain HTTP.</summary>
    [JsonStringEnumMemberName("HTTP")]
    Http,

    /// <summary>HTTP over TLS.</summary>
    [JsonStringEnumMemberName("HTTPS")]
    Https,
}

/// <summary>An HTTP GET probe.</summary>
public sealed class HttpGetProbe
{
    /// <summary>Path to request.</summary>
    [Pattern("^/[^\\s]*$")]
    [Length(Max = 2048)]
    [Default("/")]
    public string Path { get; set; } = "/";

    /// <summary>Container port to request.</summary>
    [Required]
    [Minimum(1)]
    [Maximum(65535)]
    public int Port { get; set; }

    /// <summary>Scheme to use.</summary>
    [Default("HTTP")]
    public ProbeScheme Scheme { get; set; } = ProbeScheme.Http;
}

/// <summary>A TCP connect probe.</summary>
public sealed class TcpSocketProbe
{
    /// <summary>Container port to connect to.</summary>
    [Required]
    [Minimum(1)]
    [Maximum(65535)]
    public int Port { get; set; }
}

/// <summary>Fallback to ordinary cloud nodes when a provider misses its SLA.</summary>
[CelRule("!self.failback.enabled || self.enabled", "failback.enabled requires enabled", FieldPath = ".failback.enabled")]
public sealed class FallbackSpec
{
    /// <summary>Start replacement pods on cloud nodes when a lease turns unhealthy.</summary>
    [Default(true)]
    public bool Enabled { get; set; } = true;

    /// <summary>Node selector added to the template of fallback pods.</summary>
    [Items(Max = 64)]
    public IDictionary<string, string>? NodeSelector { get; set; }

    /// <summary>Tolerations added to fallback pods.</summary>
    [Items(Max = 64)]
    public IList<V1Toleration>? Tolerations { get; set; }

    /// <summary>Affinity of fallback pods, replacing the template's.</summary>
    public V1Affinity? Affinity { get; set; }

    /// <summary>Post a new order, excluding the failed provider, and close the failed lease with a refund.</summary>
    [Default(true)]
    public bool Reauction { get; set; } = true;

    /// <summary>Moving the pods back to a provider once a healthy lease is ready.</summary>
    [DefaultEmptyObject]
    public FailbackSpec Failback { get; set; } = new();
}

/// <summary>Moving pods back from cloud nodes to a provider, make-before-break.</summary>
public sealed class FailbackSpec
{
    /// <summary>Move pods back once a healthy lease is ready.</summary>
    [Default(true)]
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds a lease must stay healthy before pods move back to it.</summary>
    [Minimum(0)]
    [Maximum(86400)]
    [Default(60)]
    public int StableSeconds { get; set; } = 60;
}

/// <summary>Lifecycle phase of a DePinDeployment.</summary>
public enum DeploymentPhase
{
    /// <summary>Waiting for a marketplace, a valid spec or an acceptable bid.</summary>
    Pending,

    /// <summary>An order is posted and bids are being collected.</summary>
    Bidding,

    /// <summary>Bids were accepted and leases are opening.</summary>
    Leasing,

    /// <summary>All replicas run on providers and meet the SLA.</summary>
    Running,

    /// <summary>Some replicas are missing or a lease misses its SLA without fallback.</summary>
    Degraded,

    /// <summary>Replicas are moving to cloud nodes.</summary>
    FallingBack,

    /// <summary>Replicas run on cloud nodes while a new lease is sought.</summary>
    OnFallback,

    /// <summary>The deployment cannot make progress without a change to its spec.</summary>
    Failed,

    /// <summary>Leases are being closed and pods removed.</summary>
    Terminating,
}

/// <summary>Observed state of a DePinDeployment.</summary>
public sealed class DePinDeploymentStatus
{
    /// <summary>Lifecycle phase.</summary>
    public DeploymentPhase? Phase { get; set; }

    /// <summary>The generation of the spec the status describes.</summary>
    [Minimum(0)]
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Leased, SLAHealthy, FallbackActive, Reconciling and Stalled.</summary>
    [ListType("map", "type")]
    public IList<V1Condition>? Conditions { get; set; }

    /// <summary>Replicas that exist, on providers and on fallback.</summary>
    [Minimum(0)]
    public int? Replicas { get; set; }

    /// <summary>Replicas whose pod is Ready.</summary>
    [Minimum(0)]
    public int? ReadyReplicas { get; set; }

    /// <summary>Replicas running on providers.</summary>
    [Minimum(0)]
    public int? DepinReplicas { get; set; }

    /// <summary>Replicas running on cloud nodes.</summary>
    [Minimum(0)]
    public int? FallbackReplicas { get; set; }

    /// <summary>Label selector of the pods, serialized, for the scale subresource.</summary>
    public string? Selector { get; set; }

    /// <summary>Comma-separated providers of the active leases, for display.</summary>
    public string? Providers { get; set; }

    /// <summary>The current marketplace order.</summary>
    public OrderStatus? Order { get; set; }

    /// <summary>How the last auction was decided: every bid, and why it won or lost.</summary>
    public DecisionStatus? Decision { get; set; }

    /// <summary>Leases of the deployment.</summary>
    [ListType("map", "name")]
    public IList<LeaseSummary>? Leases { get; set; }

    /// <summary>Total price per hour of the active leases, a decimal amount of the payment token.</summary>
    [Pattern(Patterns.Amount)]
    public string? PricePerHour { get; set; }

    /// <summary>Amount paid to providers so far, a decimal amount of the payment token.</summary>
    [Pattern(Patterns.Amount)]
    public string? SpendToDate { get; set; }

    /// <summary>The most recent move of replicas to cloud nodes.</summary>
    public FailoverStatus? LastFailover { get; set; }

    /// <summary>The most recent move of replicas back from cloud nodes to a provider.</summary>
    public FailbackStatus? LastFailback { get; set; }

    /// <summary>Providers that failed the SLA lately; auctions leave them out for an hour.</summary>
    [ListType("map", "provider")]
    [Items(Max = 256)]
    public IList<FailedProvider>? FailedProviders { get; set; }
}

/// <summary>A marketplace order.</summary>
public sealed class OrderStatus
{
    /// <summary>
    /// Auction round of the deployment, counted from 1. It is written before the order is posted: the
    /// order's key on the marketplace derives from the deployment's uid and this number, so a restart
    /// finds the order it posted instead of posting a second one.
    /// </summary>
    [Required]
    [Minimum(1)]
    public int Attempt { get; set; } = 1;

    /// <summary>Id of the order on the marketplace, written before the bid window opens.</summary>
    [Length(Min = 1, Max = 128)]
    public string? Id { get; set; }

    /// <summary>Replicas the order asks for.</summary>
    [Minimum(1)]
    public int? Replicas { get; set; }

    /// <summary>Auction rounds in a row that found no acceptable bid; the next round waits longer each time.</summary>
    [Minimum(0)]
    public int? FailedRounds { get; set; }

    /// <summary>When the order was posted.</summary>
    public DateTime? PostedAt { get; set; }

    /// <summary>When the bid window closes.</summary>
    public DateTime? BidDeadline { get; set; }

    /// <summary>Bids received so far.</summary>
    [Minimum(0)]
    public int? BidsReceived { get; set; }
}

/// <summary>How an auction ended.</summary>
public enum AuctionOutcomeKind
{
    /// <summary>Enough acceptable bids: the chosen bids are accepted.</summary>
    Accepted,

    /// <summary>Not enough acceptable bids; another round follows after a backoff.</summary>
    NoAcceptableBid,
}

/// <summary>The outcome of an auction.</summary>
public sealed class DecisionStatus
{
    /// <summary>The order the decision is about.</summary>
    [Length(Max = 128)]
    public string? OrderId { get; set; }

    /// <summary>Whether the chosen bids are accepted, or the round found too few acceptable bids.</summary>
    public AuctionOutcomeKind? Outcome { get; set; }

    /// <summary>The decision in words: what was chosen, or why nothing was.</summary>
    public string? Message { get; set; }

    /// <summary>When the decision was made.</summary>
    public DateTime? DecidedAt { get; set; }

    /// <summary>The strategy used.</summary>
    public BidStrategy? Strategy { get; set; }

    /// <summary>Bids that won, best first.</summary>
    [Items(Max = 1000)]
    public IList<BidDecision>? Chosen { get; set; }

    /// <summary>Bids that lost, each with the reason.</summary>
    [Items(Max = 1000)]
    public IList<BidDecision>? Rejected { get; set; }
}

/// <summary>One bid and what became of it.</summary>
public sealed class BidDecision
{
    /// <summary>Id of the bid on the marketplace.</summary>
    [Length(Max = 256)]
    public string? BidId { get; set; }

    /// <summary>The bidding provider.</summary>
    [Required]
    public string Provider { get; set; } = "";

    /// <summary>The provider's address, which signs its heartbeats.</summary>
    [Pattern(Patterns.Address)]
    public string? Address { get; set; }

    /// <summary>Where the provider's agent answers.</summary>
    [Length(Max = 2048)]
    public string? Endpoint { get; set; }

    /// <summary>Region the provider advertised.</summary>
    public string? Region { get; set; }

    /// <summary>Price per replica per hour offered.</summary>
    [Required]
    [Pattern(Patterns.Amount)]
    public string PricePerHour { get; set; } = "";

    /// <summary>Score under the strategy, from 0 to 1; higher is better.</summary>
    [Minimum(0)]
    [Maximum(1)]
    public double? Score { get; set; }

    /// <summary>Replicas given to this bid.</summary>
    [Minimum(0)]
    public int? Replicas { get; set; }

    /// <summary>CamelCase reason, for example <c>Cheapest</c> or <c>RegionNotAllowed</c>.</summary>
    [Required]
    public string Reason { get; set; } = "";

    /// <summary>Human-readable explanation.</summary>
    public string? Message { get; set; }
}

/// <summary>A lease of the deployment as listed in its status.</summary>
public sealed class LeaseSummary
{
    /// <summary>Name of the DePinLease object.</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>Id of the lease on the marketplace.</summary>
    public string? LeaseId { get; set; }

    /// <summary>The provider.</summary>
    public string? Provider { get; set; }

    /// <summary>Replicas the lease runs.</summary>
    [Minimum(0)]
    public int? Replicas { get; set; }

    /// <summary>State of the lease.</summary>
    public LeaseState? State { get; set; }

    /// <summary>Price per replica per hour.</summary>
    [Pattern(Patterns.Amount)]
    public string? PricePerHour { get; set; }

    /// <summary>Amount paid to the provider under this lease so far.</summary>
    [Pattern(Patterns.Amount)]
    public string? Spent { get; set; }
}

/// <summary>A provider that failed the SLA.</summary>
public sealed class FailedProvider
{
    /// <summary>The provider.</summary>
    [Required]
    public string Provider { get; set; } = "";

    /// <summary>When it failed.</summary>
    [Required]
    public DateTime At { get; set; }

    /// <summary>CamelCase reason, as in <c>lastFailover</c>.</summary>
    public string? Reason { get; set; }
}

/// <summary>A move of replicas from cloud nodes back to a provider.</summary>
public sealed class FailbackStatus
{
    /// <summary>When the failback was decided, just before the last cloud pods were removed.</summary>
    public DateTime? Time { get; set; }

    /// <summary>The provider the replicas moved to.</summary>
    public string? Provider { get; set; }

    /// <summary>Seconds from the failover to the failback.</summary>
    [Minimum(0)]
    public double? SecondsOnFallback { get; set; }
}

/// <summary>A move of replicas from a provider to cloud nodes.</summary>
public sealed class FailoverStatus
{
    /// <summary>When the failure was detected.</summary>
    public DateTime? Time { get; set; }

    /// <summary>CamelCase reason, for example <c>HeartbeatLost</c> or <c>ProbeFailed</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>The provider that failed.</summary>
    public string? Provider { get; set; }

    /// <summary>Seconds from the failure to the replacement pods being created.</summary>
    [Minimum(0)]
    public double? Seconds { get; set; }
}
