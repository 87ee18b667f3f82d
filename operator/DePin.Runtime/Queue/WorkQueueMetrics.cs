using System.Diagnostics.Metrics;

namespace DePin.Runtime.Queue;

/// <summary>Metrics of every live work queue, reported under the queue's name.</summary>
internal static class WorkQueueMetrics
{
    internal static readonly Meter Meter = new("DePin.Runtime.WorkQueue");
    internal static readonly Counter<long> Adds = Meter.CreateCounter<long>("depin_workqueue_adds_total", description: "Keys added to work queues.");
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("depin_workqueue_retries_total", description: "Keys requeued after a failure.");
    internal static readonly Histogram<double> QueueLatency = Meter.CreateHistogram<double>("depin_workqueue_queue_duration_seconds", "s", "Time keys wait in the queue before a worker takes them.", tags: null, advice: DePin.Runtime.Hosting.MetricAdvice.Seconds);

    private static readonly Lock Lock = new();
    private static readonly List<(string Name, Func<int> Depth, Func<TimeSpan> Longest)> Queues = [];

    static WorkQueueMetrics()
    {
        Meter.CreateObservableGauge("depin_workqueue_depth", () => Observe(q => q.Depth()), description: "Keys waiting in the queue.");
        Meter.CreateObservableGauge("depin_workqueue_longest_running_processor_seconds", () => Observe(q => q.Longest().TotalSeconds), "s", "How long the longest-running key has been processed.");
    }

    internal static IDisposable Register(string name, Func<int> depth, Func<TimeSpan> longest)
    {
        var entry = (name, depth, longest);
        lock (Lock)
        {
            Queues.Add(entry);
        }

        return new Registration(() =>
        {
            lock (Lock)
            {
                Queues.Remove(entry);
            }
        });
    }

    private static List<Measurement<T>> Observe<T>(Func<(string Name, Func<int> Depth, Func<TimeSpan> Longest), T> read)
        where T : struct
    {
        lock (Lock)
        {
            return [.. Queues.Select(q => new Measurement<T>(read(q), new KeyValuePair<string, object?>("name", q.Name)))];
        }
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
