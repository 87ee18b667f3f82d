using DePin.Api.Schema;
using k8s;
using k8s.Models;

namespace DePin.Api.V1Alpha1;

/// <summary>How to reach a decentralized compute marketplace: an EVM chain or a fixed list of providers.</summary>
[KubernetesEntity(Group = DePinApi.Group, ApiVersion = DePinApi.Version, Kind = KubeKind, PluralName = KubePluralName)]
[Scope(namespaced: false)]
[KubectlNames("dpm", Category = DePinApi.Category)]
[PrinterColumn("Type", "string", ".spec.type")]
[PrinterColumn("Providers", "integer", ".status.providersKnown")]
[PrinterColumn("Block", "integer", ".status.blockHeight", Priority = 1)]
[PrinterColumn("Wallet", "string", ".status.walletAddress", Priority = 1)]
[PrinterColumn("Balance", "string", ".status.balance")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class DePinMarketplace : IKubernetesObject<V1ObjectMeta>, ISpec<DePinMarketplaceSpec>, IStatus<DePinMarketplaceStatus?>
{
    /// <summary>The kind.</summary>
    public const string KubeKind = "DePinMarketplace";

    /// <summary>The plural resource name.</summary>
    public const string KubePluralName = "depinmarketplaces";

    /// <summary>APIVersion defines the versioned schema of this representation of an object.</summary>
    public string ApiVersion { get; set; } = DePinApi.GroupVersion;

    /// <summary>Kind is a string value representing the REST resource this object represents.</summary>
    public string Kind { get; set; } = KubeKind;

    /// <summary>Standard object metadata.</summary>
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>Which marketplace, and how to reach it.</summary>
    [Required]
    public DePinMarketplaceSpec Spec { get; set; } = new();

    /// <summary>What the operator last observed of the marketplace.</summary>
    public DePinMarketplaceStatus? Status { get; set; }
}

/// <summary>Kind of marketplace.</summary>
public enum MarketplaceType
{
    /// <summary>The DePinMarket contract on an EVM chain.</summary>
    Evm,

    /// <summary>A fixed list of providers whose agents quote prices over HTTP.</summary>
    Static,
}

/// <summary>Desired state of a DePinMarketplace.</summary>
[CelRule("self.type == 'Evm' ? has(self.evm) && !has(self.static) : has(self.static) && !has(self.evm)",
    "set evm when type is Evm and static when type is Static, and not the other")]
public sealed class DePinMarketplaceSpec
{
    /// <summary>Kind of marketplace.</summary>
    [Required]
    public MarketplaceType Type { get; set; }

    /// <summary>The EVM chain and contract, when type is Evm.</summary>
    public EvmMarketplaceSpec? Evm { get; set; }

    /// <summary>The provider list, when type is Static.</summary>
    public StaticMarketplaceSpec? Static { get; set; }
}

/// <summary>A DePinMarket contract on an EVM chain.</summary>
public sealed class EvmMarketplaceSpec
{
    /// <summary>JSON-RPC endpoint of a node of the chain.</summary>
    [Required]
    [Pattern(Patterns.HttpUrl)]
    [Length(Max = 2048)]
    public string RpcUrl { get; set; } = "";

    /// <summary>EIP-155 chain id; transactions are signed for it and refused on any other chain.</summary>
    [Required]
    [Minimum(1)]
    public long ChainId { get; set; }

    /// <summary>Address of the DePinMarket contract.</summary>
    [Required]
    [Pattern(Patterns.Address)]
    public string ContractAddress { get; set; } = "";

    /// <summary>Address of the ERC-20 stablecoin that payments are made in.</summary>
    [Required]
    [Pattern(Patterns.Address)]
    public string PaymentToken { get; set; } = "";

    /// <summary>Secret key holding the tenant wallet's private key (hex). Its namespace is required.</summary>
    [Required]
    [CelRule("has(self.__namespace__)", "walletSecretRef.namespace is required for a cluster-scoped marketplace", Reason = "FieldValueRequired")]
    public SecretKeyReference WalletSecretRef { get; set; } = new();

    /// <summary>Blocks after which a transaction or event counts as final.</summary>
    [Minimum(0)]
    [Maximum(128)]
    [Default(1)]
    public int Confirmations { get; set; } = 1;

    /// <summary>Seconds between reads of new blocks and events.</summary>
    [Minimum(1)]
    [Maximum(3600)]
    [Default(2)]
    public int PollIntervalSeconds { get; set; } = 2;
}

/// <summary>A fixed list of providers.</summary>
public sealed class StaticMarketplaceSpec
{
    /// <summary>The providers; each quotes prices through its agent's API.</summary>
    [Required]
    [ListType("map", "id")]
    [Items(Min = 1, Max = 1000)]
    public IList<StaticProvider> Providers { get; set; } = [];
}

/// <summary>A provider of a static marketplace.</summary>
public sealed class StaticProvider
{
    /// <summary>Stable id of the provider, used as the value of the <c>depin.dev/provider</c> label.</summary>
    [Required]
    [Pattern(Patterns.LabelValue)]
    [Length(Max = 63)]
    public string Id { get; set; } = "";

    /// <summary>Base URL of the provider's agent API.</summary>
    [Required]
    [Pattern(Patterns.HttpUrl)]
    [Length(Max = 2048)]
    public string Endpoint { get; set; } = "";

    /// <summary>Jurisdiction the hardware is in.</summary>
    [Pattern(Patterns.LabelValue)]
    [Length(Max = 63)]
    public string? Region { get; set; }

    /// <summary>Attributes the provider advertises.</summary>
    [Items(Max = 64)]
    [Length(Max = 256)]
    public IDictionary<string, string>? Attributes { get; set; }

    /// <summary>GPU models the provider offers.</summary>
    [ListType("set")]
    [Items(Max = 16)]
    [Pattern(Patterns.LabelValue)]
    public IList<string>? GpuModels { get; set; }

    /// <summary>
    /// Price per replica per hour to assume when the agent does not quote, a decimal amount of the
    /// payment token. The agent's quote wins when it answers.
    /// </summary>
    [Pattern(Patterns.Amount)]
    [Length(Max = 40)]
    public string? PricePerHour { get; set; }

    /// <summary>What the provider can run.</summary>
    public ProviderCapacity? Capacity { get; set; }

    /// <summary>Secret key holding the bearer token for the agent's API. Its namespace is required.</summary>
    [CelRule("has(self.__namespace__)", "authSecretRef.namespace is required for a cluster-scoped marketplace", Reason = "FieldValueRequired")]
    public SecretKeyReference? AuthSecretRef { get; set; }
}

/// <summary>Observed state of a DePinMarketplace.</summary>
public sealed class DePinMarketplaceStatus
{
    /// <summary>The generation of the spec the status describes.</summary>
    [Minimum(0)]
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready: the marketplace answers and the wallet can pay.</summary>
    [ListType("map", "type")]
    public IList<V1Condition>? Conditions { get; set; }

    /// <summary>Latest block read from the chain.</summary>
    [Minimum(0)]
    public long? BlockHeight { get; set; }

    /// <summary>Address of the tenant wallet.</summary>
    [Pattern(Patterns.Address)]
    public string? WalletAddress { get; set; }

    /// <summary>Payment-token balance of the wallet, a decimal amount.</summary>
    [Pattern(Patterns.Amount)]
    public string? Balance { get; set; }

    /// <summary>Providers the marketplace lists.</summary>
    [Minimum(0)]
    public int? ProvidersKnown { get; set; }
}
