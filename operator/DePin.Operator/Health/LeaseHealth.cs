using System.Collections.Concurrent;
using DePin.Api.V1Alpha1;

namespace DePin.Operator.Health;

/// <summary>Whether a lease's provider meets the SLA.</summary>
internal enum HealthState
{
    /// <summary>Not measured yet: no heartbeat has verified.</summary>
    Unknown,

    /// <summary>The heartbeat verifies and the probes pass.</summary>
    Healthy,

    /// <summary>The SLA failed: the replicas must move.</summary>
    Unhealthy,
}

/// <summary>A lease's health at one moment: its fields read together, under the lock that changes them.</summary>
/// <param name="State">Whether the lease meets the SLA.</param>
/// <param name="Since">When that state began: for Unhealthy, when the failure was detected.</param>
/// <param name="FailedAt">When the lease last turned (or stayed) unhealthy, or null if it never has.</param>
/// <param name="Reason">The reason of the last failure, or null.</param>
internal readonly record struct HealthReading(HealthState State, DateTimeOffset Since, DateTimeOffset? FailedAt, string? Reason);

/// <summary>
/// What the probes of one lease have found, shared by the monitor that measures it, the lease
/// controller that reports it on the virtual node, and the deployment controller that moves replicas.
/// </summary>
internal sealed class LeaseHealth
{
    private readonly Lock _lock = new();
    private readonly Queue<double> _latencies = new();
    private readonly Dictionary<string, PodWatch> _pods = new(StringComparer.Ordinal);

    public HealthState State { get; private set; }

    /// <summary>When the current state began: for Unhealthy, when the failure was detected.</summary>
    public DateTimeOffset Since { get; private set; }

    /// <summary>When the lease last turned (or stayed) unhealthy, or null if it never has.</summary>
    public DateTimeOffset? FailedAt { get; private set; }

    /// <summary>CamelCase reason of the last failure: <c>HeartbeatLost</c>, <c>HeartbeatTimeout</c>, <c>ProbeFailed</c>, <c>LatencyTooHigh</c>, <c>PodsFailed</c>.</summary>
    public string? Reason { get; private set; }

    public string? Message { get; private set; }

    /// <summary>When a signed heartbeat last verified.</summary>
    public DateTimeOffset? LastHeartbeat { get; private set; }

    /// <summary>When the heartbeat last failed (the stream broke and a poll confirmed it, or it went silent).</summary>
    public DateTimeOffset? HeartbeatFailedAt { get; private set; }

    public long Ok { get; private set; }

    public long Failed { get; private set; }

    public int Consecutive { get; private set; }

    public static LeaseHealth From(SlaStatus? sla) => new()
    {
        Ok = sla?.ProbesOk ?? 0,
        Failed = sla?.ProbesFailed ?? 0,
        LastHeartbeat = sla?.LastHeartbeat is { } at ? ClusterObjects.Utc(at) : null,
    };

    /// <summary>The state, when it began and why, as one reading: the probes may change them at any time.</summary>
    public HealthReading Read()
    {
        lock (_lock)
        {
            return new HealthReading(State, Since, FailedAt, Reason);
        }
    }

    /// <summary>When this process began to measure the lease: what it saw of pods before then is not known.</summary>
    public DateTimeOffset? MeasuredSince { get; private set; }

    /// <summary>
    /// Notes that a monitor begins to measure the lease now. What an earlier one saw of its pods is
    /// dropped: after a gap (a leadership change), when a pod was last Ready is not known.
    /// </summary>
    public void Measuring(DateTimeOffset now)
    {
        lock (_lock)
        {
            MeasuredSince = now;
            _pods.Clear();
        }
    }

    /// <summary>Forgets what the monitor saw of pods no longer on the lease's node.</summary>
    public void KeepPods(IReadOnlySet<string> present)
    {
        ArgumentNullException.ThrowIfNull(present);
        lock (_lock)
        {
            foreach (var gone in _pods.Keys.Where(k => !present.Contains(k)).ToList())
            {
                _pods.Remove(gone);
            }
        }
    }

    /// <summary>What the monitor has seen of a pod of the lease.</summary>
    public PodWatch Watch(string podUid)
    {
        lock (_lock)
        {
            if (!_pods.TryGetValue(podUid, out var watch))
            {
                _pods[podUid] = watch = new PodWatch();
            }

            return watch;
        }
    }

    public void Beat(DateTimeOffset now)
    {
        lock (_lock)
        {
            LastHeartbeat = now;
        }
    }

    /// <summary>
    /// Whether a heartbeat verified within <paramref name="within"/> and after the heartbeat last failed:
    /// a heartbeat from before a confirmed failure says nothing of the provider now, however recent.
    /// </summary>
    public bool HeartbeatFresh(DateTimeOffset now, TimeSpan within, out DateTimeOffset verifiedAt)
    {
        lock (_lock)
        {
            verifiedAt = LastHeartbeat ?? default;
            return LastHeartbeat is { } last && now - last <= within && (HeartbeatFailedAt is not { } failed || last > failed);
        }
    }

    /// <summary>
    /// Records a probe round; returns true when the state changed. A round that passed on a heartbeat
    /// verified at <paramref name="heartbeatAt"/> says nothing once the heartbeat failed after that: the
    /// round began before the failure was confirmed, and must not turn the lease healthy again.
    /// </summary>
    public bool Round(bool ok, double? latencyMs, string? reason, string? message, int threshold, DateTimeOffset now, DateTimeOffset? heartbeatAt = null)
    {
        lock (_lock)
        {
            if (ok && heartbeatAt is { } at && HeartbeatFailedAt is { } failed && at <= failed)
            {
                return false;
            }

            if (latencyMs is { } latency)
            {
                _latencies.Enqueue(latency);
                if (_latencies.Count > 100)
                {
                    _latencies.Dequeue();
                }
            }

            if (ok)
            {
                Ok++;
                Consecutive = 0;
                return Become(HealthState.Healthy, null, null, now);
            }

            Failed++;
            Consecutive++;
            Reason = reason;
            Message = message;
            if (Consecutive < threshold)
            {
                return false;
            }

            FailedAt = now;
            return Become(HealthState.Unhealthy, reason, message, now);
        }
    }

    /// <summary>Marks the lease unhealthy at once: its heartbeat failed (a broken stream confirmed by a failed poll, or silence).</summary>
    public bool Fail(string reason, string message, DateTimeOffset now)
    {
        lock (_lock)
        {
            HeartbeatFailedAt = now;
            return FailLocked(reason, message, now);
        }
    }

    /// <summary>Marks the lease unhealthy at once for what its pods show (a start-up deadline passed); the heartbeat is not in question.</summary>
    public bool FailPods(string reason, string message, DateTimeOffset now)
    {
        lock (_lock)
        {
            return FailLocked(reason, message, now);
        }
    }

    private bool FailLocked(string reason, string message, DateTimeOffset now)
    {
        Failed++;
        Consecutive++;
        FailedAt = now;
        Reason = reason;
        Message = message;
        return Become(HealthState.Unhealthy, reason, message, now);
    }

    /// <summary>The p99 of recent latencies in milliseconds, or null.</summary>
    public double? P99()
    {
        lock (_lock)
        {
            return Percentile(0.99);
        }
    }

    public SlaStatus ToStatus()
    {
        lock (_lock)
        {
            return new SlaStatus
            {
                ProbesOk = Ok,
                ProbesFailed = Failed,
                ConsecutiveFailures = Consecutive,
                UptimeRatio = Ok + Failed > 0 ? Math.Round((double)Ok / (Ok + Failed), 4) : null,
                LatencyP50Ms = Percentile(0.5) is { } p50 ? Math.Round(p50, 2) : null,
                LatencyP99Ms = Percentile(0.99) is { } p99 ? Math.Round(p99, 2) : null,
                LastHeartbeat = LastHeartbeat?.UtcDateTime,
            };
        }
    }

    private double? Percentile(double quantile)
    {
        if (_latencies.Count == 0)
        {
            return null;
        }

        var sorted = _latencies.Order().ToList();
        return sorted[Math.Max(0, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
    }

    private bool Become(HealthState state, string? reason, string? message, DateTimeOffset now)
    {
        if (State == state)
        {
            return false;
        }

        State = state;
        Since = now;
        if (state == HealthState.Healthy)
        {
            Reason = null;
            Message = null;
        }
        else
        {
            Reason = reason;
            Message = message;
        }

        return true;
    }
}

/// <summary>
/// What the lease monitor has seen of one pod, by the operator's clock, so that a provider's own times
/// (which it may set to anything) never extend a deadline. Touched only by the lease's monitor loop.
/// </summary>
internal sealed class PodWatch
{
    /// <summary>When the pod first started, as far as the operator can tell, or null while it has not.</summary>
    public DateTimeOffset? Started { get; set; }

    /// <summary>When the pod was last seen Ready, or null if never.</summary>
    public DateTimeOffset? LastReady { get; set; }

    /// <summary>Whether the pod has passed the workload's probe at least once.</summary>
    public bool Passed { get; set; }
}

/// <summary>The health of every lease, by the lease's uid, and a signal when one changes state.</summary>
internal sealed class LeaseHealthRegistry
{
    private readonly ConcurrentDictionary<string, LeaseHealth> _leases = new(StringComparer.Ordinal);
    private readonly List<Action<string>> _handlers = [];

    /// <summary>Calls a handler with the lease's uid whenever a lease's state changes, until disposed.</summary>
    public IDisposable Subscribe(Action<string> handler)
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

    public LeaseHealth GetOrAdd(DePinLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return _leases.GetOrAdd(lease.Metadata.Uid, _ => LeaseHealth.From(lease.Status?.Sla));
    }

    public LeaseHealth? Get(string uid) => _leases.GetValueOrDefault(uid);

    public void Forget(string uid) => _leases.TryRemove(uid, out _);

    public void Notify(string uid)
    {
        Action<string>[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }

        foreach (var handler in handlers)
        {
            handler(uid);
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
