using System.Diagnostics.Metrics;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Pods;

namespace DePin.ProviderAgent;

/// <summary>The agent's metrics, exported on <c>/metrics</c> in Prometheus format.</summary>
internal sealed class AgentMetrics : IDisposable
{
    public const string MeterName = "DePin.ProviderAgent";

    private readonly Meter _meter = new(MeterName);

    public AgentMetrics(PodManager pods, CapacityLedger ledger)
    {
        _meter.CreateObservableGauge("depin_agent_leases", () => pods.Leases().Count, description: "Leases the agent serves.");
        _meter.CreateObservableGauge("depin_agent_pods", () => pods.PodCount, description: "Pods the agent runs.");
        _meter.CreateObservableGauge("depin_agent_bids_open", () => ledger.Holders("bid:").Count, description: "Bids holding capacity.");
        _meter.CreateObservableGauge("depin_agent_capacity_used", () => Measurements(ledger.Used()), description: "Capacity held by bids and leases, by resource (cpu in millicores, memory and disk in MiB, gpu in devices).");
        _meter.CreateObservableGauge("depin_agent_capacity_total", () => Measurements(new ResourceRequest(ledger.Total.CpuMillis, ledger.Total.MemoryMiB, ledger.Total.StorageMiB, ledger.Total.Gpus.Count)), description: "Capacity offered, by resource.");
        BidsPlaced = _meter.CreateCounter<long>("depin_agent_bids_placed_total", description: "Bids placed on orders.");
        BidsWon = _meter.CreateCounter<long>("depin_agent_bids_won_total", description: "Bids that became leases.");
        Earnings = _meter.CreateCounter<double>("depin_agent_earnings_withdrawn", description: "Earnings withdrawn from lease escrow, in payment-token units (not decimals-adjusted).");
    }

    public Counter<long> BidsPlaced { get; }

    public Counter<long> BidsWon { get; }

    public Counter<double> Earnings { get; }

    public void Dispose() => _meter.Dispose();

    private static Measurement<long>[] Measurements(ResourceRequest resources) =>
    [
        new(resources.CpuMillis, new KeyValuePair<string, object?>("resource", "cpu")),
        new(resources.MemoryMiB, new KeyValuePair<string, object?>("resource", "memory")),
        new(resources.StorageMiB, new KeyValuePair<string, object?>("resource", "disk")),
        new(resources.GpuCount, new KeyValuePair<string, object?>("resource", "gpu")),
    ];
}
