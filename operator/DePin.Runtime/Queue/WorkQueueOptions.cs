namespace DePin.Runtime.Queue;

/// <summary>Settings of a <see cref="WorkQueue{TKey}"/>.</summary>
public sealed record WorkQueueOptions
{
    /// <summary>Delay of the first retry of a failing key; it doubles with each further failure. Default 50 ms.</summary>
    public TimeSpan BaseRetryDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest delay between retries of a failing key. Default 5 minutes.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries per second across all keys, once the burst is spent. Default 10.</summary>
    public double RetriesPerSecond { get; init; } = 10;

    /// <summary>Retries allowed at once before the per-second limit applies. Default 100.</summary>
    public int RetryBurst { get; init; } = 100;

    /// <summary>Name used in metrics, usually the controller's name. Default <c>queue</c>.</summary>
    public string Name { get; init; } = "queue";
}
