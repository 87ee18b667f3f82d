using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using DePin.Operator.Auction;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.Operator.Health;

/// <summary>
/// What the operator has measured of each provider across all its leases: probe rounds passed and
/// failed, and latency. It is kept in the ConfigMap <c>depin-provider-reputation</c> in the operator's
/// namespace, so that it survives leases and restarts, and it feeds <c>placement.minReputation</c> and
/// the <c>BestScore</c> strategy. Only the most recent rounds count: beyond 10,000 rounds per provider
/// the counts are halved, so an old record fades.
/// </summary>
internal sealed partial class ProviderReputation(IKubernetes kubernetes, ILogger<ProviderReputation> logger) : IDisposable
{
    public const string ConfigMapName = "depin-provider-reputation";
    private const string DataKey = "providers.json";
    private const long Window = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _providers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _dirty;
    private bool _loaded;

    /// <summary>The namespace the operator runs in: POD_NAMESPACE, or <c>depin-system</c>.</summary>
    public static string Namespace { get; } = Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } ns ? ns : "depin-system";

    public void Record(string provider, bool ok, double? latencyMs)
    {
        var entry = _providers.GetOrAdd(provider, _ => new Entry());
        lock (entry)
        {
            if (ok)
            {
                entry.Ok++;
            }
            else
            {
                entry.Failed++;
            }

            if (latencyMs is { } latency)
            {
                entry.LatencyMs = entry.LatencyMs is { } previous ? (previous * 0.9) + (latency * 0.1) : latency;
            }

            if (entry.Ok + entry.Failed > Window)
            {
                entry.Ok /= 2;
                entry.Failed /= 2;
            }
        }

        Interlocked.Exchange(ref _dirty, 1);
    }

    public IReadOnlyDictionary<string, ProviderStats> Snapshot() =>
        _providers.Where(p => p.Value.Ok + p.Value.Failed > 0).ToDictionary(
            p => p.Key,
            p =>
            {
                lock (p.Value)
                {
                    return new ProviderStats((double)p.Value.Ok / (p.Value.Ok + p.Value.Failed), p.Value.LatencyMs);
                }
            },
            StringComparer.Ordinal);

    /// <summary>Reads what was kept before a restart; rounds recorded meanwhile are added to it.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded)
            {
                return;
            }

            try
            {
                var map = await kubernetes.CoreV1.ReadNamespacedConfigMapAsync(ConfigMapName, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (map.Data?.TryGetValue(DataKey, out var text) == true && JsonSerializer.Deserialize<Dictionary<string, Entry>>(text, JsonSerializerOptions.Web) is { } kept)
                {
                    foreach (var (provider, entry) in kept)
                    {
                        _providers.AddOrUpdate(provider, entry, (_, current) =>
                        {
                            lock (current)
                            {
                                current.Ok += entry.Ok;
                                current.Failed += entry.Failed;
                                current.LatencyMs ??= entry.LatencyMs;
                                return current;
                            }
                        });
                    }
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Nothing measured yet.
            }
            catch (JsonException e)
            {
                LogUnreadable(logger, Namespace, ConfigMapName, e.Message);
            }

            _loaded = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes the figures when they changed.</summary>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (!_loaded || Interlocked.Exchange(ref _dirty, 0) == 0)
        {
            return;
        }

        var data = new Dictionary<string, string>
        {
            [DataKey] = JsonSerializer.Serialize(_providers.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), JsonSerializerOptions.Web),
        };
        try
        {
            var map = new V1ConfigMap
            {
                Metadata = new V1ObjectMeta { Name = ConfigMapName, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "depin-operator" } },
                Data = data,
            };
            try
            {
                await kubernetes.CoreV1.ReplaceNamespacedConfigMapAsync(map, ConfigMapName, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                await kubernetes.CoreV1.CreateNamespacedConfigMapAsync(map, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException e)
        {
            Interlocked.Exchange(ref _dirty, 1);
            LogUnsaved(logger, Namespace, ConfigMapName, (int)e.Response.StatusCode);
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "ConfigMap {Namespace}/{Name} does not hold readable provider figures; starting afresh: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string @namespace, string name, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "provider figures could not be written to ConfigMap {Namespace}/{Name} ({Status}); trying again later")]
    private static partial void LogUnsaved(ILogger logger, string @namespace, string name, int status);

    /// <summary>The figures of one provider, as kept in the ConfigMap.</summary>
    internal sealed class Entry
    {
        public long Ok { get; set; }

        public long Failed { get; set; }

        public double? LatencyMs { get; set; }
    }
}
