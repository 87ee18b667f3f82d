using System.Collections.Concurrent;
using System.Diagnostics;
using DePin.Api.V1Alpha1;
using DePin.Runtime.Controllers;
using DePin.Runtime.Hosting;
using DePin.Runtime.Informers;
using DePin.Runtime.Leadership;
using DePin.Testing;
using k8s;

namespace DePin.Runtime.Tests.Hosting;

[Collection(TimingSensitive.Name)]
public sealed class ControllerManagerTests : LocalKubeTest
{
    private static readonly TimeSpan Lease = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(200);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<(string Who, TimeSpan Start, TimeSpan End)> _reconciles = new();

    [Fact]
    public async Task TwoInstances_OneReconciles_CutOffLeaderStopsBeforeTheOtherStarts()
    {
        var lease = await Kube.CreateAsync(KubeFixture.Lease("busy"));
        var writer = Task.Run(async () =>
        {
            // A change every 50 ms, so that whoever leads reconciles all the time.
            for (var i = 0; !Stop.IsCancellationRequested; i++)
            {
                try
                {
                    lease.Spec.Replicas = (i % 9) + 1;
                    lease = await Kube.ReplaceAsync(lease);
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                    lease = (await Kube.ListAsync()).Single();
                }

                await Task.Delay(50);
            }
        });

        var (a, aNetwork) = Start("a");
        await Eventually.UntilAsync(() => _reconciles.Any(r => r.Who == "a"));
        var (b, _) = Start("b");
        await Task.Delay(Lease);
        Assert.DoesNotContain(_reconciles, r => r.Who == "b");

        var cutOff = _clock.Elapsed;
        aNetwork.Down = true;
        await Eventually.UntilAsync(() => _reconciles.Any(r => r.Who == "b"), TimeSpan.FromSeconds(10));
        var handover = _reconciles.Where(r => r.Who == "b").Min(r => r.Start) - cutOff;

        await Stop.CancelAsync();
        await Task.WhenAll(a, b, writer);
        var lastOfA = _reconciles.Where(r => r.Who == "a").Max(r => r.End);
        var firstOfB = _reconciles.Where(r => r.Who == "b").Min(r => r.Start);
        Assert.True(lastOfA <= firstOfB, $"a reconciled until {lastOfA}, b began at {firstOfB}");
        Assert.True(handover <= Lease + Retry + TimeSpan.FromSeconds(1), $"handover took {handover}");
    }

    private (Task Run, NetworkSwitch Network) Start(string identity)
    {
        var network = new NetworkSwitch();
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = Kube.Server.Url.ToString() }, network);
        var api = ResourceApi.Custom<DePinLease>(client);
        var informer = new Informer<DePinLease>(api, new InformerOptions { Name = $"depinleases-{identity}", BaseBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) });
        var elector = new LeaderElector(client, new LeaderElectionOptions
        {
            LeaseName = "manager",
            Namespace = "default",
            Identity = identity,
            LeaseDuration = Lease,
            RenewDeadline = TimeSpan.FromMilliseconds(1000),
            RetryPeriod = Retry,
        });
        var manager = new ControllerManager(
            [informer],
            () => [new Controller<DePinLease>(informer, api, new Recorder(identity, this), new ControllerOptions { Name = "depinlease.manager" })],
            new Readiness(),
            elector);
        var run = Task.Run(async () =>
        {
            await manager.StartAsync(CancellationToken.None);
            try
            {
                await Task.Delay(Timeout.Infinite, Stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Test over.
            }

            network.Down = false;
            await manager.StopAsync(CancellationToken.None);
            manager.Dispose();
            client.Dispose();
        });
        return (run, network);
    }

    private sealed class Recorder(string identity, ControllerManagerTests test) : IReconciler<DePinLease>
    {
        public string? Finalizer => null;

        public async Task<ReconcileResult> ReconcileAsync(DePinLease resource, CancellationToken cancellationToken)
        {
            var start = test._clock.Elapsed;
            await Task.Delay(10, CancellationToken.None);
            test._reconciles.Enqueue((identity, start, test._clock.Elapsed));
            return ReconcileResult.Done;
        }

        public Task<ReconcileResult> FinalizeAsync(DePinLease resource, CancellationToken cancellationToken) => Task.FromResult(ReconcileResult.Done);
    }
}
