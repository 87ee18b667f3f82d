using System.Collections.Concurrent;
using DePin.Api.V1Alpha1;
using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using DePin.Runtime.Queue;
using DePin.Testing;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace DePin.Runtime.Tests.Controllers;

public sealed class ControllerTests : LocalKubeTest
{
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _logger = new();

    [Fact]
    public async Task Reconcile_Throws_RetriedWithGrowingDelays_NeverTwiceAtOnce()
    {
        var reconciler = new ScriptedReconciler(attempt => attempt <= 4 ? throw new InvalidOperationException($"attempt {attempt}") : ReconcileResult.Done);
        var controller = Start(reconciler, workers: 4);
        await Kube.CreateAsync(KubeFixture.Lease("flaky"));

        await Eventually.UntilAsync(() => reconciler.Attempts == 1);
        foreach (var (failures, delay) in new[] { (1, 10), (2, 20), (3, 40), (4, 80) })
        {
            await Eventually.UntilAsync(() => controller.Queue.Delayed == 1);
            Assert.Equal(failures, controller.Queue.Failures("default/flaky"));
            _time.Advance(TimeSpan.FromMilliseconds(delay - 1));
            await Task.Delay(50);
            Assert.Equal(failures, reconciler.Attempts);
            _time.Advance(TimeSpan.FromMilliseconds(1));
            await Eventually.UntilAsync(() => reconciler.Attempts == failures + 1);
        }

        await Eventually.UntilAsync(() => controller.Queue.Failures("default/flaky") == 0);
        Assert.Equal(1, reconciler.MostAtOnce);
        Assert.Equal(4, _logger.Errors);
    }

    [Fact]
    public async Task RequeueAfter_ComesBackAtTheAskedDelay()
    {
        var reconciler = new ScriptedReconciler(_ => ReconcileResult.After(TimeSpan.FromSeconds(30)));
        var controller = Start(reconciler);
        await Kube.CreateAsync(KubeFixture.Lease("polled"));
        await Eventually.UntilAsync(() => reconciler.Attempts == 1 && controller.Queue.Delayed == 1);

        _time.Advance(TimeSpan.FromSeconds(27));
        await Task.Delay(100);
        Assert.Equal(1, reconciler.Attempts);
        _time.Advance(TimeSpan.FromSeconds(3));

        await Eventually.UntilAsync(() => reconciler.Attempts == 2);
    }

    [Fact]
    public async Task Finalizer_AddedBeforeReconcile_RemovedOnlyAfterCleanupIsConfirmed()
    {
        var cleanupConfirmed = false;
        var reconciler = new ScriptedReconciler(_ => ReconcileResult.Done)
        {
            Finalizer = "depin.dev/test-cleanup",
            OnFinalize = _ => cleanupConfirmed ? ReconcileResult.Done : ReconcileResult.After(TimeSpan.FromSeconds(5)),
        };
        var controller = Start(reconciler);
        var lease = await Kube.CreateAsync(KubeFixture.Lease("held"));
        await Eventually.UntilAsync(() => reconciler.Attempts == 1);
        Assert.Contains("depin.dev/test-cleanup", reconciler.Seen.Last().Metadata.Finalizers);

        await Kube.DeleteAsync(lease);
        await Eventually.UntilAsync(() => reconciler.Finalizations == 1 && controller.Queue.Delayed == 1);
        Assert.Single(await Kube.ListAsync());

        cleanupConfirmed = true;
        _time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.UntilAsync(async () => (await Kube.ListAsync()).Count == 0);
    }

    [Fact]
    public async Task WithoutAFinalizer_AResourceHeldInDeletion_GoesToFinalize_AndNothingIsReleased()
    {
        // As a pod waits for its kubelet: a reconciler that holds no finalizer still acts on the deletion.
        var reconciler = new ScriptedReconciler(_ => ReconcileResult.Done);
        Start(reconciler);
        var lease = KubeFixture.Lease("held-by-another");
        lease.Metadata.Finalizers = ["example.com/another"];
        lease = await Kube.CreateAsync(lease);
        await Eventually.UntilAsync(() => reconciler.Attempts == 1);

        await Kube.DeleteAsync(lease);
        await Eventually.UntilAsync(() => reconciler.Finalizations >= 1);
        var stored = Assert.Single(await Kube.ListAsync());
        Assert.Equal(["example.com/another"], stored.Metadata.Finalizers);
        Assert.Equal(1, reconciler.Attempts);
    }

    [Fact]
    public async Task Conflict_IsRetriedAtOnce_WithoutAnErrorLog()
    {
        var conflicted = false;
        var reconciler = new ScriptedReconciler(_ => ReconcileResult.Done);
        reconciler.Before = async resource =>
        {
            if (!conflicted)
            {
                conflicted = true;

                // Another writer got there first: the stale write below fails with 409.
                var other = KubernetesJson.Deserialize<DePinLease>(KubernetesJson.Serialize(resource));
                other.Spec.Replicas = 5;
                await Kube.ReplaceAsync(other);
                await Kube.ReplaceAsync(resource);
            }
        };
        Start(reconciler);

        await Kube.CreateAsync(KubeFixture.Lease("contested"));

        await Eventually.UntilAsync(() => reconciler.Completed >= 1);
        Assert.Equal(0, _logger.Errors);
    }

    private Controller<DePinLease> Start(ScriptedReconciler reconciler, int workers = 2)
    {
        var api = ResourceApi.Custom<DePinLease>(Kube.Client);
        var informer = new Informer<DePinLease>(api, new InformerOptions { Name = "depinleases" });
        var controller = new Controller<DePinLease>(informer, api, reconciler, new ControllerOptions
        {
            Name = "depinlease.test",
            Workers = workers,
            Queue = new WorkQueueOptions { BaseRetryDelay = TimeSpan.FromMilliseconds(10), RetryBurst = 1000 },
        }, _time, _logger);
        _ = informer.RunAsync(Stop.Token);
        _ = controller.RunAsync(Stop.Token);
        return controller;
    }

    private sealed class ScriptedReconciler(Func<int, ReconcileResult> script) : IReconciler<DePinLease>
    {
        private int _running;
        private int _attempts;
        private int _mostAtOnce;
        private int _completed;

        public string? Finalizer { get; init; }

        public Func<int, ReconcileResult> OnFinalize { get; init; } = _ => ReconcileResult.Done;

        public Func<DePinLease, Task>? Before { get; set; }

        public int Attempts => Volatile.Read(ref _attempts);

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public int Completed => Volatile.Read(ref _completed);

        public int Finalizations { get; private set; }

        public ConcurrentQueue<DePinLease> Seen { get; } = new();

        public async Task<ReconcileResult> ReconcileAsync(DePinLease resource, CancellationToken cancellationToken)
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _mostAtOnce, running);
            try
            {
                Seen.Enqueue(resource);
                var attempt = Interlocked.Increment(ref _attempts);
                await Task.Delay(20, cancellationToken);
                if (Before is { } before)
                {
                    await before(resource);
                }

                var result = script(attempt);
                Interlocked.Increment(ref _completed);
                return result;
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public Task<ReconcileResult> FinalizeAsync(DePinLease resource, CancellationToken cancellationToken) =>
            Task.FromResult(OnFinalize(++Finalizations));

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    private sealed class ListLogger : ILogger
    {
        private int _errors;

        public int Errors => Volatile.Read(ref _errors);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Interlocked.Increment(ref _errors);
            }
        }
    }
}
