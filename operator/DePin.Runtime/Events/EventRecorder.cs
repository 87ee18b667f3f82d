using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Runtime.Events;

/// <summary>Settings of an <see cref="EventRecorder"/>.</summary>
public sealed class EventRecorderOptions
{
    /// <summary>The component that reports, for example <c>depin-operator</c>. Required.</summary>
    public required string Component { get; init; }

    /// <summary>This replica, for example the pod name. Default: the machine name.</summary>
    public string Instance { get; init; } = Environment.MachineName;

    /// <summary>Repeats within this window update one Event instead of creating another. Default 10 minutes.</summary>
    public TimeSpan AggregationWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Shortest time between two writes of the same Event; counts in between are kept and written later. Default 1 second.</summary>
    public TimeSpan MinWriteInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Distinct messages for one object and reason after which further ones are combined. Default 10.</summary>
    public int SimilarLimit { get; init; } = 10;
}

/// <summary>
/// Records core/v1 Events about objects, aggregating repeats as client-go's correlator does: an
/// identical event within the window increments the count of the Event already written (writes are
/// spaced by <see cref="EventRecorderOptions.MinWriteInterval"/>, and <see cref="FlushAsync"/> writes
/// what is pending), and once an object has had many different messages for one reason the rest are
/// combined into one Event. A failure to write an Event is logged, never thrown: Events are advice.
/// </summary>
public sealed partial class EventRecorder : IDisposable
{
    private readonly IKubernetes _client;
    private readonly EventRecorderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<(string Uid, string Type, string Reason, string Message), Entry> _entries = [];
    private readonly Dictionary<(string Uid, string Type, string Reason), HashSet<string>> _similar = [];

    /// <summary>Creates a recorder.</summary>
    /// <param name="client">The API client.</param>
    /// <param name="options">Settings.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    /// <param name="logger">Where failures to record are logged, or null.</param>
    public EventRecorder(IKubernetes client, EventRecorderOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        _client = client;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Records an event about an object.</summary>
    /// <param name="regarding">The object.</param>
    /// <param name="type"><c>Normal</c> or <c>Warning</c>.</param>
    /// <param name="reason">CamelCase reason, for example <c>LeaseOpened</c>.</param>
    /// <param name="message">Human-readable detail; never a secret.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the event is recorded or aggregated.</returns>
    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(regarding);
        var uid = regarding.Metadata.Uid ?? ObjectName(regarding);
        var now = _time.GetUtcNow();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Expire(now);
            var similar = _similar.TryGetValue((uid, type, reason), out var messages) ? messages : _similar[(uid, type, reason)] = [];
            similar.Add(message);
            if (similar.Count > _options.SimilarLimit)
            {
                message = "(combined from similar events): " + message;
            }

            var key = (uid, type, reason, similar.Count > _options.SimilarLimit ? "combined" : message);
            if (_entries.TryGetValue(key, out var entry) && entry.Name is not null)
            {
                entry.Count++;
                entry.Last = now;
                entry.Message = message;
                if (now - entry.Written >= _options.MinWriteInterval)
                {
                    await WriteAsync(entry, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            entry = new Entry(regarding, type, reason, message, now);
            _entries[key] = entry;
            await WriteAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes the counts of repeats not yet written.</summary>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>A task that completes when written.</returns>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var entry in _entries.Values.Where(e => e.Count != e.WrittenCount))
            {
                await WriteAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Releases the lock that serializes writes.</summary>
    public void Dispose() => _gate.Dispose();

    private async Task WriteAsync(Entry entry, CancellationToken cancellationToken)
    {
        var ns = string.IsNullOrEmpty(entry.Regarding.Metadata.NamespaceProperty) ? "default" : entry.Regarding.Metadata.NamespaceProperty;
        try
        {
            if (entry.Name is null)
            {
                var name = $"{entry.Regarding.Metadata.Name}.{_time.GetUtcNow().ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}";
                await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
                {
                    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                    InvolvedObject = new V1ObjectReference
                    {
                        ApiVersion = entry.Regarding.ApiVersion,
                        Kind = entry.Regarding.Kind,
                        Name = entry.Regarding.Metadata.Name,
                        NamespaceProperty = entry.Regarding.Metadata.NamespaceProperty,
                        Uid = entry.Regarding.Metadata.Uid,
                        ResourceVersion = entry.Regarding.Metadata.ResourceVersion,
                    },
                    Type = entry.Type,
                    Reason = entry.Reason,
                    Message = entry.Message,
                    Count = entry.Count,
                    FirstTimestamp = entry.First.UtcDateTime,
                    LastTimestamp = entry.Last.UtcDateTime,
                    Source = new V1EventSource { Component = _options.Component },
                    ReportingComponent = _options.Component,
                    ReportingInstance = _options.Instance,
                }, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                entry.Name = name;
            }
            else
            {
                var patch = new V1Patch(KubernetesJson.Serialize(new
                {
                    count = entry.Count,
                    message = entry.Message,
                    lastTimestamp = entry.Last.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                }), V1Patch.PatchType.MergePatch);
                await _client.CoreV1.PatchNamespacedEventAsync(patch, entry.Name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            entry.WrittenCount = entry.Count;
            entry.Written = _time.GetUtcNow();
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            LogDropped(_logger, e, entry.Reason, ObjectName(entry.Regarding));
        }
    }

    private void Expire(DateTimeOffset now)
    {
        foreach (var key in _entries.Where(e => now - e.Value.First > _options.AggregationWindow).Select(e => e.Key).ToList())
        {
            _entries.Remove(key);
            _similar.Remove((key.Uid, key.Type, key.Reason));
        }
    }

    private static string ObjectName(IKubernetesObject<V1ObjectMeta> obj) => $"{obj.Kind}/{obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not record event {Reason} about {Object}")]
    private static partial void LogDropped(ILogger logger, Exception error, string reason, string @object);

    private sealed class Entry(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, DateTimeOffset now)
    {
        public IKubernetesObject<V1ObjectMeta> Regarding { get; } = regarding;

        public string Type { get; } = type;

        public string Reason { get; } = reason;

        public string Message { get; set; } = message;

        public DateTimeOffset First { get; } = now;

        public DateTimeOffset Last { get; set; } = now;

        public DateTimeOffset Written { get; set; }

        public int Count { get; set; } = 1;

        public int WrittenCount { get; set; }

        public string? Name { get; set; }
    }
}
