using DePin.Runtime.Queue;
using Microsoft.Extensions.Time.Testing;

namespace DePin.Runtime.Tests.Queue;

public sealed class WorkQueueTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Add_SameKeyTwice_WaitsOnce()
    {
        await using var queue = new WorkQueue<string>(time: _time);

        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", (await queue.TakeAsync(default)).Key);
        Assert.Equal("b", (await queue.TakeAsync(default)).Key);
    }

    [Fact]
    public async Task Add_WhileProcessing_ComesBackOnlyAfterDone()
    {
        await using var queue = new WorkQueue<string>(time: _time);
        queue.Add("a");
        var (_, key) = await queue.TakeAsync(default);

        queue.Add("a");
        var second = queue.TakeAsync(default);
        await Task.Yield();

        Assert.False(second.IsCompleted, "a key being processed was handed to a second worker");
        queue.Done(key);
        Assert.Equal("a", (await second.WaitAsync(TimeSpan.FromSeconds(5))).Key);
    }

    [Fact]
    public async Task AddRateLimited_RepeatedFailures_DoubleTheDelayUpToTheCap()
    {
        await using var queue = new WorkQueue<string>(new WorkQueueOptions { BaseRetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(75), RetryBurst = 1000 }, _time);

        var delays = Enumerable.Range(0, 5).Select(_ => queue.AddRateLimited("a").TotalMilliseconds).ToList();

        Assert.Equal([10, 20, 40, 75, 75], delays);
        Assert.Equal(5, queue.Failures("a"));
    }

    [Fact]
    public async Task Forget_AfterSuccess_ResetsTheBackoff()
    {
        await using var queue = new WorkQueue<string>(new WorkQueueOptions { BaseRetryDelay = TimeSpan.FromMilliseconds(10) }, _time);
        queue.AddRateLimited("a");
        queue.AddRateLimited("a");

        queue.Forget("a");

        Assert.Equal(TimeSpan.FromMilliseconds(10), queue.AddRateLimited("a"));
    }

    [Fact]
    public async Task AddAfter_KeyArrivesWhenTheDelayHasPassed()
    {
        await using var queue = new WorkQueue<string>(time: _time);

        queue.AddAfter("a", TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, queue.Depth);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(1, queue.Depth);
        Assert.Equal("a", (await queue.TakeAsync(default)).Key);
    }

    [Fact]
    public async Task AddRateLimited_ManyKeys_AreBoundedByTheGlobalRate()
    {
        await using var queue = new WorkQueue<string>(new WorkQueueOptions { BaseRetryDelay = TimeSpan.FromMilliseconds(1), RetryBurst = 2, RetriesPerSecond = 1 }, _time);

        List<string> keys = ["a", "b", "c", "d"];
        var delays = keys.Select(queue.AddRateLimited).ToList();

        Assert.Equal(TimeSpan.FromMilliseconds(1), delays[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(1), delays[1]);
        Assert.Equal(TimeSpan.FromSeconds(1), delays[2]);
        Assert.Equal(TimeSpan.FromSeconds(2), delays[3]);
    }

    [Fact]
    public async Task ShutDown_WaitsForKeysInFlight_ThenWorkersStop()
    {
        var queue = new WorkQueue<string>(time: _time);
        queue.Add("a");
        queue.Add("b");
        var (_, key) = await queue.TakeAsync(default);

        var shutdown = queue.ShutDownAsync();
        await Task.Yield();
        Assert.False(shutdown.IsCompleted, "shut down before the key in flight was done");

        queue.Done(key);
        await shutdown.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False((await queue.TakeAsync(default)).Ok);
        queue.Add("c");
        Assert.Equal(0, queue.Depth);
        await queue.DisposeAsync();
    }

    [Fact]
    public async Task Take_WaitsForAKey_AndHonoursCancellation()
    {
        await using var queue = new WorkQueue<string>(time: _time);
        using var cts = new CancellationTokenSource();

        var waiting = queue.TakeAsync(cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
