using System.Globalization;
using System.Numerics;
using DePin.Api.V1Alpha1;
using DePin.Marketplace;

namespace DePin.Operator.Auction;

/// <summary>What the operator has measured of a provider across leases.</summary>
/// <param name="Reputation">Measured uptime, 0 to 1.</param>
/// <param name="LatencyMs">Median probe latency, or null when not measured.</param>
internal sealed record ProviderStats(double Reputation, double? LatencyMs);

/// <summary>An offer that wins replicas.</summary>
internal sealed record Choice(Offer Offer, int Replicas, double Score);

/// <summary>An offer that does not, and why: <see cref="Reason"/> is a CamelCase code, <see cref="Message"/> says it in words.</summary>
internal sealed record Rejection(Offer Offer, string Reason, string Message, double? Score);

/// <summary>The decision over an order's offers.</summary>
internal sealed record AuctionOutcome(IReadOnlyList<Choice> Chosen, IReadOnlyList<Rejection> Rejected, int Wanted)
{
    /// <summary>Replicas placed by the chosen offers.</summary>
    public int Placed => Chosen.Sum(c => c.Replicas);

    /// <summary>Whether every replica has a place.</summary>
    public bool Complete => Placed == Wanted;
}

/// <summary>
/// Picks the winning offers for a deployment: filters by price ceiling, excluded providers, regions, GPU
/// models, required attributes, auditors and minimum reputation; scores the rest (<c>LowestPrice</c>:
/// cheaper is better; <c>BestScore</c>: price 50%, measured reputation 30%, latency 20%); and hands out
/// replicas best first, at most <c>maxReplicasPerProvider</c> each. Every offer ends up chosen or
/// rejected with a reason, which is what <c>status.decision</c> shows.
/// </summary>
internal static class AuctionDecision
{
    /// <summary>Providers not measured yet count as this reputation when scoring (and pass <c>minReputation</c>).</summary>
    public const double UnmeasuredReputation = 0.5;

    /// <summary>Decides which offers win how many replicas; <paramref name="placed"/> holds the replicas the deployment already runs per provider, which count against <c>maxReplicasPerProvider</c>.</summary>
    public static AuctionOutcome Decide(IReadOnlyList<Offer> offers, int replicas, BigInteger maxPricePerHour, int tokenDecimals, PlacementSpec placement, BidStrategy strategy, IReadOnlyDictionary<string, ProviderStats> stats, IReadOnlyDictionary<string, int>? placed = null)
    {
        ArgumentNullException.ThrowIfNull(offers);
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(stats);
        var rejected = new List<Rejection>();
        var eligible = new List<(Offer Offer, double Score)>();
        foreach (var offer in offers)
        {
            var score = Score(offer, maxPricePerHour, strategy, stats);
            if (Refusal(offer, maxPricePerHour, tokenDecimals, placement, stats) is { } refusal)
            {
                rejected.Add(new Rejection(offer, refusal.Reason, refusal.Message, score));
            }
            else
            {
                eligible.Add((offer, score));
            }
        }

        var cap = placement.MaxReplicasPerProvider is > 0 and var max ? max : replicas;
        var remaining = replicas;
        var chosen = new List<Choice>();
        foreach (var (offer, score) in eligible.OrderByDescending(e => e.Score).ThenBy(e => e.Offer.PricePerHour).ThenBy(e => e.Offer.ProviderId, StringComparer.Ordinal))
        {
            var room = Math.Max(0, cap - (placed?.GetValueOrDefault(offer.ProviderId) ?? 0));
            var take = Math.Min(Math.Min(offer.Replicas, room), remaining);
            if (take > 0)
            {
                chosen.Add(new Choice(offer, take, score));
                remaining -= take;
            }
            else if (room == 0 && remaining > 0)
            {
                rejected.Add(new Rejection(offer, "SpreadLimit", $"the provider already runs {placed?.GetValueOrDefault(offer.ProviderId) ?? 0} replicas, placement.maxReplicasPerProvider", score));
            }
            else
            {
                rejected.Add(new Rejection(offer, "NotNeeded", "every replica was placed with a better offer", score));
            }
        }

        return new AuctionOutcome(chosen, rejected, replicas);
    }

    private static (string Reason, string Message)? Refusal(Offer offer, BigInteger max, int decimals, PlacementSpec placement, IReadOnlyDictionary<string, ProviderStats> stats)
    {
        if (placement.ExcludeProviders?.Any(p => string.Equals(p, offer.ProviderId, StringComparison.OrdinalIgnoreCase) || string.Equals(p, offer.ProviderAddress?.ToString(), StringComparison.OrdinalIgnoreCase)) == true)
        {
            return ("ProviderExcluded", $"provider {offer.ProviderId} is in placement.excludeProviders");
        }

        if (offer.PricePerHour > max)
        {
            return ("PriceAboveMaximum", $"{TokenAmount.Format(offer.PricePerHour, decimals)} per hour is above bidding.maxPricePerHour {TokenAmount.Format(max, decimals)}");
        }

        if (placement.Regions is { Count: > 0 } regions && !regions.Contains(offer.Region, StringComparer.OrdinalIgnoreCase))
        {
            return ("RegionNotAllowed", $"region {(offer.Region.Length > 0 ? offer.Region : "(none)")} is not in placement.regions [{string.Join(", ", regions)}]");
        }

        if (placement.GpuModels is { Count: > 0 } models)
        {
            var offered = offer.Attributes.TryGetValue("gpu", out var gpu) ? gpu.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            if (!offered.Any(m => models.Contains(m, StringComparer.OrdinalIgnoreCase)))
            {
                return ("GpuModelNotOffered", $"the provider offers GPU models [{string.Join(", ", offered)}], none of placement.gpuModels [{string.Join(", ", models)}]");
            }
        }

        foreach (var (key, value) in placement.RequiredAttributes ?? new Dictionary<string, string>())
        {
            if (!offer.Attributes.TryGetValue(key, out var actual) || actual != value)
            {
                return ("MissingAttribute", $"placement.requiredAttributes wants {key}={value}; the provider has {(actual is null ? "no " + key : key + "=" + actual)}");
            }
        }

        if (placement.Auditors is { Count: > 0 } auditors && !offer.Auditors.Any(a => auditors.Contains(a.ToString(), StringComparer.OrdinalIgnoreCase)))
        {
            return ("NotAudited", "none of placement.auditors has attested the provider's current attributes");
        }

        if (placement.MinReputation is { } minimum && stats.TryGetValue(offer.ProviderId, out var measured) && measured.Reputation < minimum)
        {
            return ("ReputationTooLow", string.Create(CultureInfo.InvariantCulture, $"measured reputation {measured.Reputation:0.###} is below placement.minReputation {minimum:0.###}"));
        }

        return null;
    }

    private static double Score(Offer offer, BigInteger max, BidStrategy strategy, IReadOnlyDictionary<string, ProviderStats> stats)
    {
        var price = max.IsZero ? 0 : Math.Clamp(1 - ((double)offer.PricePerHour / (double)max), 0, 1);
        if (strategy == BidStrategy.LowestPrice)
        {
            return Math.Round(price, 4);
        }

        var measured = stats.GetValueOrDefault(offer.ProviderId);
        var reputation = measured?.Reputation ?? UnmeasuredReputation;
        var latency = measured?.LatencyMs is { } ms ? 1 / (1 + (ms / 100)) : 0.5;
        return Math.Round((0.5 * price) + (0.3 * reputation) + (0.2 * latency), 4);
    }
}
