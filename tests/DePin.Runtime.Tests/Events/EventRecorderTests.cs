using DePin.Runtime.Events;
using k8s;
using Microsoft.Extensions.Time.Testing;

namespace DePin.Runtime.Tests.Events;

public sealed class EventRecorderTests : IAsyncLifetime
{
    private readonly KubeFixture _kube = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public Task InitializeAsync() => _kube.InitializeAsync();

    public Task DisposeAsync() => _kube.DisposeAsync();

    [Fact]
    public async Task ThousandIdenticalFailures_AreOneEventCountingThemAll()
    {
        using var recorder = new EventRecorder(_kube.Client, new EventRecorderOptions { Component = "depin-operator" }, _time);
        var lease = await _kube.CreateAsync(KubeFixture.Lease("failing"));

        for (var i = 0; i < 1000; i++)
        {
            await recorder.RecordAsync(lease, "Warning", "ProbeFailed", "GET /healthz: connection refused");
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        await recorder.FlushAsync();

        var events = (await _kube.Client.CoreV1.ListNamespacedEventAsync("default")).Items;
        var only = Assert.Single(events);
        Assert.Equal(1000, only.Count);
        Assert.Equal(("Warning", "ProbeFailed", "failing", lease.Metadata.Uid), (only.Type, only.Reason, only.InvolvedObject.Name, only.InvolvedObject.Uid));
        Assert.Equal("depin-operator", only.Source.Component);
    }

    [Fact]
    public async Task ManyDifferentMessages_AreCombinedAfterTheLimit()
    {
        using var recorder = new EventRecorder(_kube.Client, new EventRecorderOptions { Component = "depin-operator", SimilarLimit = 3 }, _time);
        var lease = await _kube.CreateAsync(KubeFixture.Lease("noisy"));

        for (var i = 0; i < 50; i++)
        {
            await recorder.RecordAsync(lease, "Warning", "BidRejected", $"bid {i} above the ceiling");
        }

        await recorder.FlushAsync();

        var events = (await _kube.Client.CoreV1.ListNamespacedEventAsync("default")).Items;
        Assert.Equal(4, events.Count);
        var combined = Assert.Single(events, e => e.Message.StartsWith("(combined from similar events)", StringComparison.Ordinal));
        Assert.Equal(47, combined.Count);
        Assert.Equal(50, events.Sum(e => e.Count));
    }

    [Fact]
    public async Task WriteFailure_IsSwallowed()
    {
        using var recorder = new EventRecorder(_kube.Client, new EventRecorderOptions { Component = "depin-operator" }, _time);
        var lease = await _kube.CreateAsync(KubeFixture.Lease("quiet"));
        _kube.Server.Faults.FailNext(1, 500, method: "POST", resource: "events");

        await recorder.RecordAsync(lease, "Normal", "LeaseOpened", "lease 1 opened");

        Assert.Empty((await _kube.Client.CoreV1.ListNamespacedEventAsync("default")).Items);
    }
}
