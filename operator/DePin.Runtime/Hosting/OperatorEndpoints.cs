using DePin.Runtime.Leadership;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace DePin.Runtime.Hosting;

/// <summary>What <c>/readyz</c> reports.</summary>
public sealed class Readiness
{
    private volatile bool _synced;

    /// <summary>The elector whose leadership <c>/readyz</c> reports, if any.</summary>
    public LeaderElector? Elector { get; set; }

    /// <summary>Marks the caches as synced: the process can serve.</summary>
    public void MarkSynced() => _synced = true;

    /// <summary>Whether the caches are synced.</summary>
    public bool Synced => _synced;
}

/// <summary>
/// The operational endpoints of the operator and the agent: <c>/healthz</c> (the process answers),
/// <c>/readyz</c> (caches synced; the body says whether this replica leads, and a standby replica is
/// ready too, so that rollouts and disruption budgets work with two replicas) and <c>/metrics</c>
/// (OpenTelemetry metrics of every DePin meter and of the .NET runtime in Prometheus text format).
/// </summary>
public static class OperatorEndpoints
{
    /// <summary>Every meter of the project (DePin.Runtime.WorkQueue, .Informer, .Controller, .LeaderElection, .KubernetesApi, ...).</summary>
    public const string Meters = "DePin.*";

    /// <summary>The runtime's own meter: GC heap sizes and collections, working set, thread pool, exceptions.</summary>
    public const string RuntimeMeter = "System.Runtime";

    /// <summary>Registers readiness and OpenTelemetry metrics with the Prometheus exporter.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddOperatorTelemetry(this IServiceCollection services)
    {
        services.AddSingleton<Readiness>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Meters, RuntimeMeter)
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Maps <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The application.</returns>
    public static WebApplication MapOperatorEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (Readiness readiness) => readiness switch
        {
            { Synced: false } => Results.Text("not ready: caches are syncing", statusCode: StatusCodes.Status503ServiceUnavailable),
            { Elector: { IsLeader: true } } => Results.Text("ok: leading"),
            { Elector: not null } => Results.Text("ok: standby"),
            _ => Results.Text("ok"),
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
