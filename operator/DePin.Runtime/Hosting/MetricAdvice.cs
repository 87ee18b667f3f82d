using System.Diagnostics.Metrics;

namespace DePin.Runtime.Hosting;

/// <summary>Histogram buckets for durations in seconds, from a millisecond to a minute (the exporter's defaults are made for milliseconds).</summary>
public static class MetricAdvice
{
    /// <summary>Bucket boundaries for a histogram of seconds.</summary>
    public static InstrumentAdvice<double> Seconds { get; } = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };
}
