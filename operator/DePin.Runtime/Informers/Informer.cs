using System.Diagnostics.Metrics;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Runtime.Informers;

/// <summary>What happened to a cached object.</summary>
public enum ChangeKind
{
    /// <summary>First seen.</summary>
    Added,

    /// <summary>Changed.</summary>
    Updated,

    /// <summary>Gone.</summary>
    Deleted,

    /// <summary>Unchanged, handed out again by the periodic resync.</summary>
    Resync,
}

/// <summary>A change handed to the informer's handlers.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Kind">What happened.</param>
/// <param name="Item">The object as it is now (for Deleted: as it was last seen).</param>
/// <param name="Old">The object before an update, else null.</param>
public sealed record InformerChange<T>(ChangeKind Kind, T Item, T? Old);

/// <summary>Settings of an <see cref="Informer{T}"/>.</summary>
public sealed class InformerOptions
{
    /// <summary>Name in logs and metrics, usually the plural resource name. Default <c>informer</c>.</summary>
    public string Name { get; init; } = "informer";

    /// <summary>How often every cached object is handed to the handlers again; zero turns it off. Default 10 minutes.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Shortest server-side timeout of one watch; each watch takes a random one up to twice this. Default 5 minutes.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A watch that has delivered neither an event nor a bookmark for this long is presumed dead and
    /// restarted. Keep it above the server's bookmark interval (about a minute on Kubernetes). Default 3 minutes.
    /// </summary>
    public TimeSpan QuietTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>First delay after a failed list or watch; it doubles up to <see cref="MaxBackoff"/>, with jitter. Default 200 ms.</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay after failures. Default 30 seconds.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Keeps a cache of one resource type current: lists, then watches from the list's resourceVersion
/// with bookmarks; when a watch ends it resumes from the last resourceVersion seen; on 410 Gone it
/// lists again and hands out what changed meanwhile, deletions included; failures back off with jitter;
/// a watch quiet for longer than <see cref="InformerOptions.QuietTimeout"/> is restarted. One informer
/// per type is shared by every controller that needs it.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed partial class Informer<T> : IInformer
    where T : IKubernetesObject<V1ObjectMeta>
{
    private static readonly Meter Meter = new("DePin.Runtime.Informer");
    private static readonly Counter<long> WatchRestarts = Meter.CreateCounter<long>("depin_informer_watch_restarts_total", description: "Watches restarted, by reason: closed, expired (410), quiet, error.");
    private static readonly Counter<long> Relists = Meter.CreateCounter<long>("depin_informer_relists_total", description: "Full lists, the first included.");
    private static readonly Counter<long> Events = Meter.CreateCounter<long>("depin_informer_events_total", description: "Watch events received, by type.");

    private readonly IResourceApi<T> _api;
    private readonly InformerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly List<Action<InformerChange<T>>> _handlers = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates an informer; call <see cref="RunAsync"/>.</summary>
    /// <param name="api">How to list and watch the type.</param>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    /// <param name="logger">Where to log, or null.</param>
    /// <param name="random">Source of jitter, or null.</param>
    public Informer(IResourceApi<T> api, InformerOptions? options = null, TimeProvider? time = null, ILogger? logger = null, Random? random = null)
    {
        _api = api;
        _options = options ?? new InformerOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _random = random ?? Random.Shared;
    }

    /// <summary>The cached objects.</summary>
    public InformerCache<T> Cache { get; } = new();

    /// <summary>Completes once the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    /// <summary>The resourceVersion the cache reflects.</summary>
    public string? ResourceVersion { get; private set; }

    /// <summary>Registers a handler. Handlers run one at a time on the informer's loop: keep them short (enqueue a key).</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Dispose it to unregister the handler.</returns>
    public IDisposable Subscribe(Action<InformerChange<T>> handler)
    {
        lock (_handlers)
        {
            _handlers.Add(handler);
        }

        return new Subscription(() =>
        {
            lock (_handlers)
            {
                _handlers.Remove(handler);
            }
        });
    }

    Task IInformer.RunAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    /// <summary>Lists and watches until cancelled.</summary>
    /// <param name="cancellationToken">Stops the informer.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        string? resourceVersion = null;
        var nextResync = _options.ResyncPeriod > TimeSpan.Zero ? _time.GetUtcNow() + _options.ResyncPeriod : DateTimeOffset.MaxValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await RelistAsync(cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }

                var (next, received, reason) = await WatchOnceAsync(resourceVersion, () =>
                {
                    if (_time.GetUtcNow() >= nextResync)
                    {
                        nextResync = _time.GetUtcNow() + _options.ResyncPeriod;
                        foreach (var item in Cache.List())
                        {
                            Dispatch(new InformerChange<T>(ChangeKind.Resync, item, item));
                        }
                    }
                }, cancellationToken).ConfigureAwait(false);
                resourceVersion = next;
                WatchRestarts.Add(1, new("name", _options.Name), new("reason", reason));
                failures = received > 0 ? 0 : failures + 1;
                if (failures > 0 && resourceVersion is not null)
                {
                    // A watch that ends at once, again and again, must not spin.
                    await Task.Delay(Backoff(failures), _time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Gone)
            {
                WatchRestarts.Add(1, new("name", _options.Name), new("reason", "expired"));
                resourceVersion = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or System.Text.Json.JsonException or OperationCanceledException)
            {
                failures++;
                WatchRestarts.Add(1, new("name", _options.Name), new("reason", "error"));
                var delay = Backoff(failures);
                LogFailure(_logger, e, _options.Name, failures, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> RelistAsync(CancellationToken cancellationToken)
    {
        var items = new List<T>();
        string? token = null;
        string resourceVersion;
        do
        {
            var page = await _api.ListAsync(token, cancellationToken).ConfigureAwait(false);
            items.AddRange(page.Items);
            token = page.Continue;
            resourceVersion = page.ResourceVersion;
        }
        while (token is not null);

        Relists.Add(1, new KeyValuePair<string, object?>("name", _options.Name));
        var (added, updated, deleted) = Cache.Replace(items);
        foreach (var item in added)
        {
            Dispatch(new InformerChange<T>(ChangeKind.Added, item, default));
        }

        foreach (var (old, item) in updated)
        {
            Dispatch(new InformerChange<T>(ChangeKind.Updated, item, old));
        }

        foreach (var item in deleted)
        {
            Dispatch(new InformerChange<T>(ChangeKind.Deleted, item, default));
        }

        ResourceVersion = resourceVersion;
        _synced.TrySetResult();
        return resourceVersion;
    }

    // One watch: returns where to resume (null to relist), how many events arrived, and why it ended.
    private async Task<(string? ResourceVersion, int Received, string Reason)> WatchOnceAsync(string resourceVersion, Action afterEvent, CancellationToken cancellationToken)
    {
        var timeout = _options.WatchTimeout + TimeSpan.FromSeconds(_random.NextDouble() * _options.WatchTimeout.TotalSeconds);
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var watchdog = _time.CreateTimer(_ => quiet.Cancel(), null, _options.QuietTimeout, Timeout.InfiniteTimeSpan);
        var received = 0;
        try
        {
            await foreach (var change in _api.WatchAsync(resourceVersion, timeout, quiet.Token).ConfigureAwait(false))
            {
                watchdog.Change(_options.QuietTimeout, Timeout.InfiniteTimeSpan);
                received++;
                Events.Add(1, new("name", _options.Name), new("type", change.Type));
                switch (change.Type)
                {
                    case "ADDED" or "MODIFIED" when change.Item is { } item:
                        var old = Cache.Upsert(item);
                        Dispatch(old is null ? new InformerChange<T>(ChangeKind.Added, item, default) : new InformerChange<T>(ChangeKind.Updated, item, old));
                        break;
                    case "DELETED" when change.Item is { } gone:
                        Cache.Remove(ObjectKey.Of(gone));
                        Dispatch(new InformerChange<T>(ChangeKind.Deleted, gone, default));
                        break;
                    case "BOOKMARK":
                        break;
                    case "ERROR" when change.Error?.Code is 410 or null:
                        LogExpired(_logger, _options.Name, resourceVersion);
                        return (null, received, "expired");
                    case "ERROR":
                        throw new HttpOperationException($"watch error {change.Error?.Code}: {change.Error?.Message}");
                }

                if (change.ResourceVersion is { Length: > 0 } next)
                {
                    resourceVersion = next;
                    ResourceVersion = next;
                }

                afterEvent();
            }
        }
        catch (OperationCanceledException) when (quiet.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogQuiet(_logger, _options.Name, _options.QuietTimeout);
            return (resourceVersion, received, "quiet");
        }

        return (resourceVersion, received, "closed");
    }

    private void Dispatch(InformerChange<T> change)
    {
        Action<InformerChange<T>>[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }

        foreach (var handler in handlers)
        {
            handler(change);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var exponential = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));

        // Full jitter between half and all of the delay, so informers that failed together do not retry together.
        return TimeSpan.FromMilliseconds(exponential * (0.5 + (_random.NextDouble() / 2)));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "informer {Informer}: list or watch failed ({Failures} in a row); retrying in {Delay}")]
    private static partial void LogFailure(ILogger logger, Exception error, string informer, int failures, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "informer {Informer}: resourceVersion {ResourceVersion} expired; listing again")]
    private static partial void LogExpired(ILogger logger, string informer, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "informer {Informer}: watch quiet for {Quiet}; restarting it")]
    private static partial void LogQuiet(ILogger logger, string informer, TimeSpan quiet);

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}

/// <summary>An informer of any type, as a controller manager runs it.</summary>
public interface IInformer
{
    /// <summary>Completes once the first list is in the cache.</summary>
    Task Synced { get; }

    /// <summary>Lists and watches until cancelled.</summary>
    /// <param name="cancellationToken">Stops the informer.</param>
    /// <returns>A task that completes when stopped.</returns>
    Task RunAsync(CancellationToken cancellationToken);
}
