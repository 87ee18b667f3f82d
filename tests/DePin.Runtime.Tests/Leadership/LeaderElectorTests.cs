using System.Collections.Concurrent;
using System.Diagnostics;
using DePin.LocalKube;
using DePin.Runtime.Leadership;
using DePin.Testing;
using k8s;

namespace DePin.Runtime.Tests.Leadership;

[Collection(TimingSensitive.Name)]
public sealed class LeaderElectorTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan Renew = TimeSpan.FromMilliseconds(1000);
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(200);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<(string Who, TimeSpan Start, TimeSpan End)> _terms = new();
    private LocalKubeServer _server = null!;

    public async Task InitializeAsync() => _server = await LocalKubeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task TwoReplicas_ExactlyOneLeads()
    {
        await using var a = Candidate("a");
        await using var b = Candidate("b");

        await Eventually.UntilAsync(() => a.Elector.IsLeader || b.Elector.IsLeader);
        await Task.Delay(Lease * 2);

        Assert.True(a.Elector.IsLeader ^ b.Elector.IsLeader);
    }

    [Fact]
    public async Task LeaderCutOff_StopsBeforeTheOtherStarts_HandoverWithinLeasePlusRetry()
    {
        await using var a = Candidate("a");
        await Eventually.UntilAsync(() => a.Elector.IsLeader);
        await using var b = Candidate("b");
        await Task.Delay(Retry * 3);

        var cutOff = _clock.Elapsed;
        a.Network.Down = true;
        await Eventually.UntilAsync(() => b.Elector.IsLeader, TimeSpan.FromSeconds(10));
        var handover = _clock.Elapsed - cutOff;
        await Eventually.UntilAsync(() => !a.Elector.IsLeader);

        Assert.True(handover <= Lease + Retry + TimeSpan.FromSeconds(1), $"handover took {handover}");
        await a.DisposeAsync();
        await b.DisposeAsync();
        var terms = _terms.OrderBy(t => t.Start).ToList();
        for (var i = 1; i < terms.Count; i++)
        {
            Assert.True(terms[i].Start >= terms[i - 1].End, $"{terms[i - 1].Who} led until {terms[i - 1].End}, {terms[i].Who} started at {terms[i].Start}");
        }

        Assert.Equal(["a", "b"], terms.Select(t => t.Who));
    }

    [Fact]
    public async Task LeaderStops_ReleasesTheLease_OtherTakesOverAtOnce()
    {
        var a = Candidate("a");
        await Eventually.UntilAsync(() => a.Elector.IsLeader);
        await using var b = Candidate("b");

        var stopped = _clock.Elapsed;
        await a.DisposeAsync();
        await Eventually.UntilAsync(() => b.Elector.IsLeader);

        Assert.True(_clock.Elapsed - stopped < Lease, "the released lease was waited out instead of taken at once");
    }

    [Fact]
    public void Options_RenewDeadlineNotBelowLease_AreRefused()
    {
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });

        Assert.Throws<ArgumentException>(() => new LeaderElector(client, new LeaderElectionOptions
        {
            LeaseName = "x",
            Namespace = "default",
            Identity = "a",
            LeaseDuration = TimeSpan.FromSeconds(10),
            RenewDeadline = TimeSpan.FromSeconds(10),
        }));
    }

    private Replica Candidate(string identity)
    {
        var network = new NetworkSwitch();
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = _server.Url.ToString() }, network);
        var elector = new LeaderElector(client, new LeaderElectionOptions
        {
            LeaseName = "operator",
            Namespace = "default",
            Identity = identity,
            LeaseDuration = Lease,
            RenewDeadline = Renew,
            RetryPeriod = Retry,
        });
        var stop = new CancellationTokenSource();
        var run = elector.RunAsync(
            async leading =>
            {
                var start = _clock.Elapsed;
                try
                {
                    await Task.Delay(Timeout.Infinite, leading);
                }
                catch (OperationCanceledException)
                {
                    // Leadership ended.
                }

                _terms.Enqueue((identity, start, _clock.Elapsed));
            },
            stop.Token);
        return new Replica(elector, network, client, stop, run);
    }

    private sealed class Replica(LeaderElector elector, NetworkSwitch network, Kubernetes client, CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        private bool _disposed;

        public LeaderElector Elector { get; } = elector;

        public NetworkSwitch Network { get; } = network;

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await stop.CancelAsync();
            await run;
            stop.Dispose();
            client.Dispose();
        }
    }
}
