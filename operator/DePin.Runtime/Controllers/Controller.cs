using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using DePin.Runtime.Informers;
using DePin.Runtime.Queue;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Runtime.Controllers;

/// <summary>
/// Runs one reconciler: every change the informer sees queues the object's key; workers take keys,
/// one worker per key at a time, and call the reconciler with the cached object. A throw retries with
/// the queue's backoff; a 409 Conflict retries at once and quietly; <see cref="ReconcileResult.RequeueAfter"/>
/// comes back after the delay. The finalizer is added before the first reconcile and removed, with a
/// call that is never cancelled halfway, only after <see cref="IReconciler{T}.FinalizeAsync"/> confirms cleanup.
/// </summary>
/// <typeparam name="T">The resource type.</typeparam>
public sealed partial class Controller<T> : IController
    where T : IKubernetesObject<V1ObjectMeta>
{
    private static readonly Meter Meter = new("DePin.Runtime.Controller");
    private static readonly Counter<long> Reconciles = Meter.CreateCounter<long>("depin_controller_reconcile_total", description: "Reconciles by controller and result: success, requeue, conflict, error.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("depin_controller_reconcile_duration_seconds", "s", "Time one reconcile takes.", tags: null, advice: DePin.Runtime.Hosting.MetricAdvice.Seconds);

    private readonly Informer<T> _informer;
    private readonly IResourceApi<T> _api;
    private readonly IReconciler<T> _reconciler;
    private readonly ControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IDisposable _subscription;
    private readonly List<IDisposable> _watches = [];

    /// <summary>Creates a controller; call <see cref="RunAsync"/>.</summary>
    /// <param name="informer">The shared informer of the type; the controller does not run it.</param>
    /// <param name="api">Where finalizers are patched.</param>
    /// <param name="reconciler">The reconciler.</param>
    /// <param name="options">Settings.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    /// <param name="logger">Where to log, or null.</param>
    public Controller(Informer<T> informer, IResourceApi<T> api, IReconciler<T> reconciler, ControllerOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        _informer = informer;
        _api = api;
        _reconciler = reconciler;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Queue = new WorkQueue<string>(options.Queue with { Name = options.Name }, _time);
        _subscription = informer.Subscribe(change => Queue.Add(ObjectKey.Of(change.Item)));
    }

    /// <summary>The controller's name, <c>kind.concern</c>.</summary>
    public string Name => _options.Name;

    /// <summary>The controller's work queue; other triggers (owned objects, timers) add keys here.</summary>
    public WorkQueue<string> Queue { get; }

    /// <summary>
    /// Queues keys of this controller's resources when objects of another informer change, for example
    /// the owner of a changed pod. The subscription ends with the controller.
    /// </summary>
    /// <typeparam name="TOther">The other informer's type.</typeparam>
    /// <param name="informer">The other informer.</param>
    /// <param name="keys">The keys a change concerns; none to ignore it.</param>
    public void Watch<TOther>(Informer<TOther> informer, Func<InformerChange<TOther>, IEnumerable<string>> keys)
        where TOther : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(informer);
        ArgumentNullException.ThrowIfNull(keys);
        _watches.Add(informer.Subscribe(change =>
        {
            foreach (var key in keys(change))
            {
                Queue.Add(key);
            }
        }));
    }

    /// <summary>Ends a subscription (to a signal outside the informers) when the controller stops.</summary>
    /// <param name="subscription">The subscription.</param>
    public void Track(IDisposable subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        _watches.Add(subscription);
    }

    /// <summary>Reconciles until cancelled, then lets keys in flight finish.</summary>
    /// <param name="cancellationToken">Stops the controller.</param>
    /// <returns>A task that completes when the workers have stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _informer.Synced.WaitAsync(cancellationToken).ConfigureAwait(false);

        // Everything the cache holds, once: changes seen before this controller started are not lost.
        foreach (var item in _informer.Cache.List())
        {
            Queue.Add(ObjectKey.Of(item));
        }

        var workers = Enumerable.Range(0, _options.Workers).Select(_ => Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None)).ToList();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: drain below.
        }

        _subscription.Dispose();
        foreach (var watch in _watches)
        {
            watch.Dispose();
        }

        await Queue.ShutDownAsync(CancellationToken.None).ConfigureAwait(false);
        await Task.WhenAll(workers).ConfigureAwait(false);
        await Queue.DisposeAsync().ConfigureAwait(false);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            (bool Ok, string Key) next;
            try
            {
                next = await Queue.TakeAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!next.Ok)
            {
                return;
            }

            try
            {
                await ProcessAsync(next.Key, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Queue.Done(next.Key);
            }
        }
    }

    private async Task ProcessAsync(string key, CancellationToken cancellationToken)
    {
        var resource = _informer.Cache.Get(key);
        if (resource is null)
        {
            // Gone: nothing to reconcile, and its finalizer (if any) was already removed.
            Queue.Forget(key);
            return;
        }

        var started = _time.GetTimestamp();
        var controller = new KeyValuePair<string, object?>("controller", _options.Name);
        try
        {
            var result = await ReconcileOneAsync(resource, cancellationToken).ConfigureAwait(false);
            Queue.Forget(key);
            if (result.RequeueAfter is { } delay)
            {
                Queue.AddAfter(key, delay);
            }

            Reconciles.Add(1, controller, new("result", result.RequeueAfter is null ? "success" : "requeue"));
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            // Someone wrote the object first: the informer brings the new version; try again now, quietly.
            Reconciles.Add(1, controller, new("result", "conflict"));
            Queue.Add(key);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Reconciles.Add(1, controller, new("result", "cancelled"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var delay = Queue.AddRateLimited(key);
            Reconciles.Add(1, controller, new("result", "error"));
            LogError(_logger, e, _options.Name, key, Queue.Failures(key), delay);
        }
        finally
        {
            Duration.Record(_time.GetElapsedTime(started).TotalSeconds, controller);
        }
    }

    private async Task<ReconcileResult> ReconcileOneAsync(T resource, CancellationToken cancellationToken)
    {
        var finalizer = _reconciler.Finalizer;
        var finalizers = resource.Metadata.Finalizers ?? [];
        if (resource.Metadata.DeletionTimestamp is not null)
        {
            if (finalizer is null)
            {
                // Held by someone else's finalizer or a graceful deletion (a pod waiting for its kubelet):
                // a reconciler that holds no finalizer may still have to act, and nothing is released here.
                return await _reconciler.FinalizeAsync(resource, cancellationToken).ConfigureAwait(false);
            }

            if (!finalizers.Contains(finalizer))
            {
                return ReconcileResult.Done;
            }

            var result = await _reconciler.FinalizeAsync(resource, cancellationToken).ConfigureAwait(false);
            if (result.RequeueAfter is not null)
            {
                return result;
            }

            // Cleanup is confirmed: release the resource. Never cancelled halfway, or it would stay stuck.
            await PatchFinalizersAsync(resource, [.. finalizers.Where(f => f != finalizer)], CancellationToken.None).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        if (finalizer is not null && !finalizers.Contains(finalizer))
        {
            // Before anything outside the cluster exists, so that a delete can never skip its cleanup.
            resource = await PatchFinalizersAsync(resource, [.. finalizers, finalizer], cancellationToken).ConfigureAwait(false);
        }

        return await _reconciler.ReconcileAsync(resource, cancellationToken).ConfigureAwait(false);
    }

    // A merge patch that names the resourceVersion it read, so a concurrent change turns into 409.
    private Task<T> PatchFinalizersAsync(T resource, List<string> finalizers, CancellationToken cancellationToken)
    {
        var patch = JsonSerializer.Serialize(new
        {
            metadata = new { finalizers, resourceVersion = resource.Metadata.ResourceVersion },
        });
        return _api.PatchAsync(resource.Metadata.NamespaceProperty, resource.Metadata.Name, new V1Patch(patch, V1Patch.PatchType.MergePatch), status: false, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "controller {Controller}: reconcile of {Key} failed ({Failures} in a row); retrying in {Delay}")]
    private static partial void LogError(ILogger logger, Exception error, string controller, string key, int failures, TimeSpan delay);
}

/// <summary>A controller of any type, as a controller manager runs it.</summary>
public interface IController
{
    /// <summary>The controller's name, <c>kind.concern</c>.</summary>
    string Name { get; }

    /// <summary>Reconciles until cancelled, then lets keys in flight finish. Runs once.</summary>
    /// <param name="cancellationToken">Stops the controller.</param>
    /// <returns>A task that completes when the workers have stopped.</returns>
    Task RunAsync(CancellationToken cancellationToken);
}
