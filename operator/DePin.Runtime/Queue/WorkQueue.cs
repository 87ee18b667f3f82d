namespace DePin.Runtime.Queue;

/// <summary>
/// A queue of keys to reconcile, in the manner of client-go's rate-limited work queue: a key waits at
/// most once however often it is added; a key being processed is never handed to a second worker, and
/// if it is added meanwhile it comes back once the first worker is done; failing keys come back after
/// a per-key exponential delay, bounded by a global token bucket; keys can be added after a delay.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "client-go's name for it, which every Kubernetes engineer knows.")]
public sealed class WorkQueue<TKey> : IAsyncDisposable
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly WorkQueueOptions _options;
    private readonly LinkedList<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, long> _processingSince = [];
    private readonly Dictionary<TKey, long> _queuedSince = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, ITimer> _delayed = [];
    private readonly KeyValuePair<string, object?> _tag;
    private readonly IDisposable _metrics;
    private TaskCompletionSource _available = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private double _tokens;
    private long _tokensAt;
    private bool _shuttingDown;

    /// <summary>Creates a queue.</summary>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public WorkQueue(WorkQueueOptions? options = null, TimeProvider? time = null)
    {
        _options = options ?? new WorkQueueOptions();
        _time = time ?? TimeProvider.System;
        _tokens = _options.RetryBurst;
        _tokensAt = _time.GetTimestamp();
        _tag = new KeyValuePair<string, object?>("name", _options.Name);
        _metrics = WorkQueueMetrics.Register(_options.Name, () => Depth, () => LongestRunning);
    }

    /// <summary>Keys waiting for a worker.</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Keys waiting for a delay (a retry backoff or a requeue) before they join the queue.</summary>
    public int Delayed
    {
        get
        {
            lock (_lock)
            {
                return _delayed.Count;
            }
        }
    }

    /// <summary>How long the key processed longest has been running.</summary>
    public TimeSpan LongestRunning
    {
        get
        {
            lock (_lock)
            {
                return _processingSince.Count == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_processingSince.Values.Min());
            }
        }
    }

    /// <summary>Failures recorded for a key since it last succeeded.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The count.</returns>
    public int Failures(TKey key)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>Adds a key, unless it already waits.</summary>
    /// <param name="key">The key.</param>
    public void Add(TKey key)
    {
        lock (_lock)
        {
            AddLocked(key);
        }
    }

    /// <summary>Adds a key after a delay; an earlier pending delay for the key is kept if it fires sooner.</summary>
    /// <param name="key">The key.</param>
    /// <param name="delay">The delay.</param>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (_lock)
        {
            if (_shuttingDown)
            {
                return;
            }

            if (_delayed.Remove(key, out var existing))
            {
                existing.Dispose();
            }

            _delayed[key] = _time.CreateTimer(_ => Fire(key), null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Adds a key after its failure backoff, bounded by the global retry rate, and counts the failure.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The delay chosen.</returns>
    public TimeSpan AddRateLimited(TKey key)
    {
        TimeSpan delay;
        lock (_lock)
        {
            var failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            var backoff = TimeSpan.FromTicks((long)Math.Min(_options.MaxRetryDelay.Ticks, _options.BaseRetryDelay.Ticks * Math.Pow(2, Math.Min(failures, 62))));
            var limit = TakeToken();
            delay = backoff > limit ? backoff : limit;
        }

        WorkQueueMetrics.Retries.Add(1, _tag);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Clears a key's failures, after it succeeded.</summary>
    /// <param name="key">The key.</param>
    public void Forget(TKey key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>Waits for the next key and marks it as processing; call <see cref="Done"/> when finished.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The key, or no value once the queue is shutting down and empty.</returns>
    public async Task<(bool Ok, TKey Key)> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_queue.First is { } first)
                {
                    var key = first.Value;
                    _queue.RemoveFirst();
                    _dirty.Remove(key);
                    _processing.Add(key);
                    _processingSince[key] = _time.GetTimestamp();
                    if (_queuedSince.Remove(key, out var since))
                    {
                        WorkQueueMetrics.QueueLatency.Record(_time.GetElapsedTime(since).TotalSeconds, _tag);
                    }

                    return (true, key);
                }

                if (_shuttingDown)
                {
                    return (false, default!);
                }

                wait = _available.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Marks a key as no longer processing; if it was added meanwhile, it waits again.</summary>
    /// <param name="key">The key.</param>
    public void Done(TKey key)
    {
        lock (_lock)
        {
            _processing.Remove(key);
            _processingSince.Remove(key);
            if (_dirty.Contains(key))
            {
                _queue.AddLast(key);
                _queuedSince[key] = _time.GetTimestamp();
                Signal();
            }

            if (_shuttingDown && _processing.Count == 0)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>Stops accepting keys, wakes idle workers, and waits until keys being processed are done.</summary>
    /// <param name="cancellationToken">Stops waiting for the drain.</param>
    /// <returns>A task that completes when no key is being processed.</returns>
    public async Task ShutDownAsync(CancellationToken cancellationToken = default)
    {
        Task drained;
        lock (_lock)
        {
            _shuttingDown = true;
            _queue.Clear();
            _dirty.Clear();
            foreach (var timer in _delayed.Values)
            {
                timer.Dispose();
            }

            _delayed.Clear();
            Signal();
            if (_processing.Count == 0)
            {
                _drained.TrySetResult();
            }

            drained = _drained.Task;
        }

        await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the queue without waiting for keys in flight; use <see cref="ShutDownAsync"/> to drain.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _ = ShutDownAsync();
        _metrics.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Fire(TKey key)
    {
        lock (_lock)
        {
            if (_delayed.Remove(key, out var timer))
            {
                timer.Dispose();
            }

            AddLocked(key);
        }
    }

    private void AddLocked(TKey key)
    {
        if (_shuttingDown || !_dirty.Add(key))
        {
            return;
        }

        WorkQueueMetrics.Adds.Add(1, _tag);
        if (_processing.Contains(key))
        {
            // Comes back when the worker holding it calls Done.
            return;
        }

        _queue.AddLast(key);
        _queuedSince[key] = _time.GetTimestamp();
        Signal();
    }

    private void Signal()
    {
        var available = _available;
        _available = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        available.TrySetResult();
    }

    // Token bucket shared by all retries: the wait until a token is free (zero when one is).
    private TimeSpan TakeToken()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_options.RetryBurst, _tokens + (_time.GetElapsedTime(_tokensAt, now).TotalSeconds * _options.RetriesPerSecond));
        _tokensAt = now;
        _tokens -= 1;
        return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _options.RetriesPerSecond);
    }
}
