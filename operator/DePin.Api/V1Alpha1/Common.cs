using DePin.Api.Schema;

namespace DePin.Api.V1Alpha1;

/// <summary>A key of a Secret in a named namespace.</summary>
public sealed class SecretKeyReference
{
    /// <summary>Name of the Secret.</summary>
    [Required]
    [Pattern(Patterns.ObjectName)]
    [Length(Max = 253)]
    public string Name { get; set; } = "";

    /// <summary>Namespace of the Secret. Required where the referring object is cluster-scoped.</summary>
    [Pattern(Patterns.ObjectName)]
    [Length(Max = 63)]
    public string? Namespace { get; set; }

    /// <summary>Key within the Secret's data.</summary>
    [Required]
    [Pattern("^[-._a-zA-Z0-9]+$")]
    [Length(Min = 1, Max = 253)]
    public string Key { get; set; } = "";
}

/// <summary>Compute resources offered by a provider or held by a lease.</summary>
public sealed class ProviderCapacity
{
    /// <summary>CPU cores, as a Kubernetes quantity (for example <c>8</c> or <c>7500m</c>).</summary>
    public k8s.Models.ResourceQuantity? Cpu { get; set; }

    /// <summary>Memory, as a Kubernetes quantity (for example <c>32Gi</c>).</summary>
    public k8s.Models.ResourceQuantity? Memory { get; set; }

    /// <summary>Ephemeral disk, as a Kubernetes quantity (for example <c>200Gi</c>).</summary>
    public k8s.Models.ResourceQuantity? Disk { get; set; }

    /// <summary>Number of GPUs.</summary>
    [Minimum(0)]
    public int? Gpus { get; set; }

    /// <summary>Number of pods the provider accepts at once.</summary>
    [Minimum(0)]
    public int? Pods { get; set; }
}

/// <summary>A hardware provider as the marketplace describes it.</summary>
public sealed class ProviderInfo
{
    /// <summary>
    /// Stable id of the provider: its on-chain address on an EVM marketplace, a configured name on a
    /// static one. Used as the value of the <c>depin.dev/provider</c> label.
    /// </summary>
    [Required]
    [Pattern(Patterns.LabelValue)]
    [Length(Max = 63)]
    public string Id { get; set; } = "";

    /// <summary>On-chain address of the provider, which signs its bids and heartbeats.</summary>
    [Pattern(Patterns.Address)]
    public string? Address { get; set; }

    /// <summary>Base URL of the provider's agent API.</summary>
    [Required]
    [Pattern(Patterns.HttpUrl)]
    [Length(Max = 2048)]
    public string Endpoint { get; set; } = "";

    /// <summary>Jurisdiction the hardware is in, as advertised (for example <c>eu-west</c>).</summary>
    [Pattern(Patterns.LabelValue)]
    [Length(Max = 63)]
    public string? Region { get; set; }

    /// <summary>Attributes the provider advertises (for example <c>tier: datacenter</c>).</summary>
    [Items(Max = 64)]
    [Length(Max = 256)]
    public IDictionary<string, string>? Attributes { get; set; }

    /// <summary>GPU models the provider offers (for example <c>H100</c>).</summary>
    [ListType("set")]
    [Items(Max = 16)]
    [Pattern(Patterns.LabelValue)]
    public IList<string>? GpuModels { get; set; }
}
