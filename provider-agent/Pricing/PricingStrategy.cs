using System.Numerics;
using DePin.Ethereum;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;

namespace DePin.ProviderAgent.Pricing;

/// <summary>A price, or why there is none.</summary>
/// <param name="PricePerReplicaHour">Token units per replica and hour, or null.</param>
/// <param name="Refusal">Why no price is offered, or null.</param>
internal sealed record Quote(BigInteger? PricePerReplicaHour, string? Refusal);

/// <summary>
/// Prices a replica from per-unit rates, as Akash's default bid strategy does: CPU per core-hour,
/// memory and disk per GiB-hour, GPUs per hour by model (a default for other models), and a minimum
/// per replica-hour. The price is the provider's cost; a bid is never below it, and never above the
/// order's maximum (no bid at all then).
/// </summary>
internal sealed class PricingStrategy
{
    private readonly AgentOptions _options;
    private readonly HashSet<Address> _allow;
    private readonly HashSet<Address> _deny;
    private readonly decimal _unit;

    public PricingStrategy(AgentOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _allow = [.. options.AllowTenants.Select(Address.Parse)];
        _deny = [.. options.DenyTenants.Select(Address.Parse)];
        _unit = (decimal)Math.Pow(10, options.TokenDecimals);
    }

    /// <summary>The provider's cost of one replica for an hour, in token units, rounded up.</summary>
    public BigInteger Cost(ResourceRequest replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        var gpuRate = replica.GpuCount == 0 ? 0m
            : _options.GpuHour.TryGetValue(replica.GpuModel, out var rate) ? rate
            : _options.GpuHour.TryGetValue("default", out var fallback) ? fallback
            : throw new InvalidOperationException($"no GPU price for {replica.GpuModel} and no default");
        var tokens = (replica.CpuMillis / 1000m * _options.CpuCoreHour)
            + (replica.MemoryMiB / 1024m * _options.MemoryGiBHour)
            + (replica.StorageMiB / 1024m * _options.StorageGiBHour)
            + (replica.GpuCount * gpuRate);
        return new BigInteger(Math.Ceiling(Math.Max(tokens, _options.MinimumPriceHour) * _unit));
    }

    /// <summary>Prices an order's replica for a tenant, refusing when the tenant or the ceiling says no.</summary>
    public Quote Price(ResourceRequest replica, Address tenant, BigInteger maxPricePerReplicaHour)
    {
        if (_deny.Contains(tenant))
        {
            return new Quote(null, $"tenant {tenant} is on the deny list");
        }

        if (_allow.Count > 0 && !_allow.Contains(tenant))
        {
            return new Quote(null, $"tenant {tenant} is not on the allow list");
        }

        if (replica.GpuCount > 0 && !_options.GpuHour.ContainsKey(replica.GpuModel) && !_options.GpuHour.ContainsKey("default"))
        {
            return new Quote(null, $"no price for GPU model {replica.GpuModel}");
        }

        var cost = Cost(replica);
        return cost > maxPricePerReplicaHour
            ? new Quote(null, $"cost {cost} per replica-hour exceeds the maximum {maxPricePerReplicaHour}")
            : new Quote(cost, null);
    }
}
