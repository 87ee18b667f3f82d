using System.Globalization;
using System.Text.RegularExpressions;
using DePin.Api.V1Alpha1;
using DePin.Runtime.Controllers;
using DePin.Runtime.Hosting;
using DePin.Runtime.Informers;
using DePin.Runtime.Leadership;
using DePin.Runtime.Resilience;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace DePin.Runtime.Tests.Hosting;

public sealed partial class OperatorEndpointsTests : LocalKubeTest
{

    [Fact]
    public async Task Endpoints_ReportHealthReadinessAndPrometheusMetrics()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Services.AddOperatorTelemetry();
        await using var app = builder.Build();
        app.MapOperatorEndpoints();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        var readiness = app.Services.GetRequiredService<Readiness>();

        Assert.Equal("ok", await http.GetStringAsync("/healthz"));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/readyz")).StatusCode);

        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = Kube.Server.Url.ToString() }, new KubernetesApiResilience());
        var api = ResourceApi.Custom<DePinLease>(client);
        var informer = new Informer<DePinLease>(api, new InformerOptions { Name = "depinleases" });
        var controller = new Controller<DePinLease>(informer, api, new FailOnce(), new ControllerOptions { Name = "depinlease.metrics" });
        var elector = new LeaderElector(client, new LeaderElectionOptions { LeaseName = "metrics", Namespace = "default", Identity = "a", LeaseDuration = TimeSpan.FromSeconds(3), RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(200) });
        readiness.Elector = elector;
        _ = informer.RunAsync(Stop.Token);
        _ = elector.RunAsync(controller.RunAsync, Stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        readiness.MarkSynced();
        await Kube.CreateAsync(KubeFixture.Lease("measured"));
        Kube.Server.Faults.CloseAllWatches();

        // Meters are process-wide and other test classes run at the same time: wait for this test's own samples.
        Func<(string Name, string Labels, double Value), bool>[] expected =
        [
            s => s.Name == "depin_controller_reconcile_total" && s.Labels.Contains("result=\"error\"", StringComparison.Ordinal) && s.Labels.Contains("controller=\"depinlease.metrics\"", StringComparison.Ordinal),
            s => s.Name == "depin_controller_reconcile_total" && s.Labels.Contains("result=\"success\"", StringComparison.Ordinal) && s.Labels.Contains("controller=\"depinlease.metrics\"", StringComparison.Ordinal),
            s => s.Name == "depin_controller_reconcile_duration_seconds_bucket",
            s => s.Name == "depin_workqueue_depth" && s.Labels.Contains("name=\"depinlease.metrics\"", StringComparison.Ordinal),
            s => s.Name == "depin_workqueue_adds_total",
            s => s.Name == "depin_workqueue_retries_total",
            s => s.Name == "depin_workqueue_longest_running_processor_seconds",
            s => s.Name == "depin_informer_watch_restarts_total" && s.Labels.Contains("reason=\"closed\"", StringComparison.Ordinal),
            s => s.Name == "depin_kubernetes_api_request_duration_seconds_count" && s.Labels.Contains("verb=\"PATCH\"", StringComparison.Ordinal) && s.Labels.Contains("code=\"200\"", StringComparison.Ordinal),
            s => s.Name == "depin_leader_transitions_total",
        ];
        List<(string Name, string Labels, double Value)> samples = [];
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                do
                {
                    await Task.Delay(100, timeout.Token);
                    samples = Parse(await http.GetStringAsync("/metrics", timeout.Token));
                }
                while (!expected.All(samples.Any));
            }
            catch (OperationCanceledException)
            {
                // The assertions below say which sample never came.
            }
        }

        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(samples.Any(expected[i]), $"expected sample {i} is missing from /metrics");
        }

        Assert.Equal("ok: leading", await http.GetStringAsync("/readyz"));
    }

    // Prometheus text exposition: comments, then `name{labels} value [timestamp]` lines; anything else fails.
    private static List<(string Name, string Labels, double Value)> Parse(string text)
    {
        var samples = new List<(string, string, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || line.StartsWith("# EOF", StringComparison.Ordinal))
            {
                continue;
            }

            var match = Sample().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var value = match.Groups["value"].Value;
            samples.Add((match.Groups["name"].Value, match.Groups["labels"].Value, value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            }));
        }

        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>[-+0-9.eE]+|\+Inf|-Inf|NaN)( [0-9]+)?$""")]
    private static partial Regex Sample();

    private sealed class FailOnce : IReconciler<DePinLease>
    {
        private int _calls;

        public string? Finalizer => "depin.dev/metrics-test";

        public Task<ReconcileResult> ReconcileAsync(DePinLease resource, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new InvalidOperationException("first attempt fails") : Task.FromResult(ReconcileResult.Done);

        public Task<ReconcileResult> FinalizeAsync(DePinLease resource, CancellationToken cancellationToken) => Task.FromResult(ReconcileResult.Done);
    }
}
