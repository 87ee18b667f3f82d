using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Polly;
using Polly.Retry;

namespace DePin.Runtime.Resilience;

/// <summary>Settings of the <c>kubernetes-api</c> resilience pipeline.</summary>
public sealed class KubernetesApiResilienceOptions
{
    /// <summary>Retries after the first attempt. Default 5.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Base delay of the jittered exponential backoff. Default 200 ms.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between attempts, a Retry-After included. Default 10 seconds.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The <c>kubernetes-api</c> pipeline for every Kubernetes API call but watches: 429, 5xx and
/// connection failures are retried with jittered exponential backoff, honouring Retry-After; any other
/// 4xx is returned at once. Add it to KubernetesClient as a handler: <c>new Kubernetes(config, new KubernetesApiResilience())</c>.
/// </summary>
public sealed class KubernetesApiResilience : DelegatingHandler
{
    /// <summary>Name of the pipeline in telemetry.</summary>
    public const string PipelineName = "kubernetes-api";

    private static readonly Meter Meter = new("DePin.Runtime.KubernetesApi");
    private static readonly Histogram<double> Requests = Meter.CreateHistogram<double>("depin_kubernetes_api_request_duration_seconds", "s", "Kubernetes API requests by verb and status code, retries included as separate requests.", tags: null, advice: DePin.Runtime.Hosting.MetricAdvice.Seconds);

    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    /// <summary>Creates the handler.</summary>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public KubernetesApiResilience(KubernetesApiResilienceOptions? options = null, TimeProvider? time = null)
    {
        options ??= new KubernetesApiResilienceOptions();
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = PipelineName, TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args =>
                {
                    var retryAfter = args.Outcome.Result?.Headers.RetryAfter?.Delta;
                    return ValueTask.FromResult(retryAfter is { } delay ? delay < options.MaxDelay ? delay : options.MaxDelay : (TimeSpan?)null);
                },
                OnRetry = args =>
                {
                    // The response that will not be returned must not keep its connection.
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Whether an outcome is worth another attempt.</summary>
    /// <param name="outcome">The outcome.</param>
    /// <returns>True for 429, 5xx and connection failures.</returns>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException } => true,
        { Exception: TimeoutException } => true,
        { Result.StatusCode: HttpStatusCode.TooManyRequests } => true,
        { Result.StatusCode: >= HttpStatusCode.InternalServerError } => true,
        _ => false,
    };

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) == true)
        {
            // Watches are long-lived streams that their informer resumes itself.
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (request.Content is not null)
        {
            // Read once, so that every attempt can send the same bytes.
            await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        return await _pipeline.ExecuteAsync(
            async ct =>
            {
                var started = Stopwatch.GetTimestamp();
                var code = "error";
                try
                {
                    var response = await base.SendAsync(request, ct).ConfigureAwait(false);
                    code = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return response;
                }
                finally
                {
                    Requests.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new("verb", request.Method.Method), new("code", code));
                }
            },
            cancellationToken).ConfigureAwait(false);
    }
}
