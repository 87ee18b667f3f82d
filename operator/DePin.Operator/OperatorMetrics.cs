using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DePin.Runtime.Hosting;

namespace DePin.Operator;

/// <summary>The operator's own metrics, exported on <c>/metrics</c> next to the runtime's.</summary>
internal static class OperatorMetrics
{
    private static readonly Meter Meter = new("DePin.Operator");
    private static readonly ConcurrentDictionary<(string Deployment, string Provider), (double Price, double Spend)> Money = new();

    public static readonly Counter<long> Failovers = Meter.CreateCounter<long>("depin_failovers_total", description: "Moves of replicas from a provider to cloud nodes, by reason.");

    public static readonly Counter<long> Failbacks = Meter.CreateCounter<long>("depin_failbacks_total", description: "Moves of replicas from cloud nodes back to a provider, by reason: new_lease or recovered.");

    public static readonly Histogram<double> FailoverSeconds = Meter.CreateHistogram<double>("depin_failover_duration_seconds", "s", "From the failure detected to the cloud pods created (stage=created) and Ready (stage=ready).", tags: null, advice: MetricAdvice.Seconds);

    public static readonly Histogram<double> ProbeSeconds = Meter.CreateHistogram<double>("depin_probe_duration_seconds", "s", "Probe round trips of leases: the heartbeat poll and the workload probe.", tags: null, advice: MetricAdvice.Seconds);

    public static readonly Histogram<double> TimeToLease = Meter.CreateHistogram<double>("depin_time_to_lease_seconds", "s", "From an order posted to its leases opened.", tags: null, advice: MetricAdvice.Seconds);

    public static readonly Counter<long> ProbeFailures = Meter.CreateCounter<long>("depin_probe_failures_total", description: "Failed probe rounds of leases, by reason.");

    static OperatorMetrics()
    {
        Meter.CreateObservableGauge("depin_price_per_hour", () => Money.Select(m => new Measurement<double>(m.Value.Price, new("deployment", m.Key.Deployment), new("provider", m.Key.Provider))), description: "Price per hour of a deployment's replicas at a provider, in payment-token units.");
        Meter.CreateObservableGauge("depin_spend_total", () => Money.Select(m => new Measurement<double>(m.Value.Spend, new("deployment", m.Key.Deployment), new("provider", m.Key.Provider))), description: "Paid so far by a deployment to a provider, in payment-token units.");
    }

    /// <summary>Sets the price and spend of a deployment at its providers; providers no longer listed are dropped.</summary>
    public static void SetMoney(string deployment, IReadOnlyDictionary<string, (double Price, double Spend)> byProvider)
    {
        foreach (var key in Money.Keys.Where(k => k.Deployment == deployment && !byProvider.ContainsKey(k.Provider)))
        {
            Money.TryRemove(key, out _);
        }

        foreach (var (provider, value) in byProvider)
        {
            Money[(deployment, provider)] = value;
        }
    }

    public static void Forget(string deployment)
    {
        foreach (var key in Money.Keys.Where(k => k.Deployment == deployment))
        {
            Money.TryRemove(key, out _);
        }
    }
}
