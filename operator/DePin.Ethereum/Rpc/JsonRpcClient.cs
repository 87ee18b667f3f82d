using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DePin.Ethereum.Rpc;

/// <summary>Sends JSON-RPC 2.0 requests to an Ethereum node.</summary>
public interface IJsonRpcClient
{
    /// <summary>Calls a method.</summary>
    /// <param name="method">For example <c>eth_blockNumber</c>.</param>
    /// <param name="parameters">The positional parameters.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The <c>result</c> member.</returns>
    /// <exception cref="JsonRpcException">The node answered with an error.</exception>
    /// <exception cref="HttpRequestException">The node could not be reached, after the retries its method allows.</exception>
    Task<JsonElement> RequestAsync(string method, JsonArray parameters, CancellationToken cancellationToken = default);
}

/// <summary>Settings of the JSON-RPC client and its resilience pipelines.</summary>
public sealed record JsonRpcOptions
{
    /// <summary>Retries after the first attempt for methods that may be retried. Default 6.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>Base delay of the jittered exponential backoff. Default 200 ms.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between attempts. Default 5 seconds.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for one attempt. Default 15 seconds.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Calls within <see cref="BreakerSamplingDuration"/> before the circuit breaker may open. The
    /// operator makes a few calls per second, so the default is 10, not Polly's 100.
    /// </summary>
    public int BreakerMinimumThroughput { get; init; } = 10;

    /// <summary>Share of failed calls that opens the breaker. Default 0.9.</summary>
    public double BreakerFailureRatio { get; init; } = 0.9;

    /// <summary>The breaker's sampling window. Default 20 seconds.</summary>
    public TimeSpan BreakerSamplingDuration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long an open breaker fails calls at once. Default 2 seconds.</summary>
    public TimeSpan BreakerBreakDuration { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// JSON-RPC 2.0 over HTTP. Every call is a POST, so retries are decided per method, never per HTTP
/// verb: reads go through the <c>ethereum-rpc-read</c> pipeline, <c>eth_sendRawTransaction</c> through
/// <c>ethereum-rpc-send</c> (resending the identical signed bytes is harmless; the node answers "already
/// known"), and every other method (node administration, <c>eth_sendTransaction</c>) is tried once.
/// Both pipelines retry connection failures, timeouts, 429, 5xx and the rate-limit error -32005 with
/// jittered backoff behind a circuit breaker. The endpoint URL may carry an API key, so only its scheme
/// and host appear in logs and messages.
/// </summary>
public sealed partial class JsonRpcClient : IJsonRpcClient
{
    /// <summary>Name of the pipeline for reads.</summary>
    public const string ReadPipelineName = "ethereum-rpc-read";

    /// <summary>Name of the pipeline for sending signed transactions.</summary>
    public const string SendPipelineName = "ethereum-rpc-send";

    private static readonly Meter Meter = new("DePin.Ethereum.Rpc");
    private static readonly Histogram<double> Calls = Meter.CreateHistogram<double>("depin_ethereum_rpc_duration_seconds", "s", "JSON-RPC calls by method and outcome, each attempt counted.", tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    private static readonly HashSet<string> ReadMethods = new(StringComparer.Ordinal)
    {
        "eth_chainId", "eth_blockNumber", "eth_getBalance", "eth_getTransactionCount", "eth_call", "eth_estimateGas",
        "eth_getTransactionReceipt", "eth_getTransactionByHash", "eth_getLogs", "eth_feeHistory", "eth_getBlockByNumber",
        "eth_getBlockByHash", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_getCode", "net_version", "web3_clientVersion",
    };

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _read;
    private readonly ResiliencePipeline _send;
    private long _nextId;

    /// <summary>Creates the client.</summary>
    /// <param name="http">The HTTP client; its lifetime is the caller's.</param>
    /// <param name="endpoint">The node's URL.</param>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="logger">Where retries are logged.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public JsonRpcClient(HttpClient http, Uri endpoint, JsonRpcOptions? options = null, ILogger<JsonRpcClient>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = http;
        _endpoint = endpoint;
        _logger = logger ?? NullLogger<JsonRpcClient>.Instance;
        options ??= new JsonRpcOptions();
        // Scheme, host and port only: user information, path and query may all carry credentials.
        Endpoint = endpoint.Scheme + "://" + endpoint.IdnHost + (endpoint.IsDefaultPort ? "" : ":" + endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _read = Pipeline(ReadPipelineName, options, time ?? TimeProvider.System);
        _send = Pipeline(SendPipelineName, options, time ?? TimeProvider.System);
    }

    /// <summary>The endpoint without user information, path or query, safe to show.</summary>
    public string Endpoint { get; }

    /// <summary>Whether a failure is worth another attempt.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>True for connection failures, timeouts, 429, 5xx, an open breaker and error -32005.</returns>
    public static bool IsTransient(Exception exception) => exception switch
    {
        JsonRpcException rpc => rpc.Code == -32005,
        HttpRequestException http => http.StatusCode is null or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError,
        TimeoutRejectedException or BrokenCircuitException or TimeoutException => true,
        _ => false,
    };

    /// <inheritdoc/>
    public async Task<JsonElement> RequestAsync(string method, JsonArray parameters, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(parameters);
        var id = Interlocked.Increment(ref _nextId);
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = id,
            ["method"] = method,
            ["params"] = parameters.DeepClone(),
        });

        var pipeline = method == "eth_sendRawTransaction" ? _send : ReadMethods.Contains(method) ? _read : ResiliencePipeline.Empty;
        return await pipeline.ExecuteAsync(ct => AttemptAsync(method, id, body, ct), cancellationToken).ConfigureAwait(false);
    }

    private static ResiliencePipeline Pipeline(string name, JsonRpcOptions options, TimeProvider time) =>
        new ResiliencePipelineBuilder { Name = name, TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                MinimumThroughput = options.BreakerMinimumThroughput,
                FailureRatio = options.BreakerFailureRatio,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && e is not JsonRpcException && IsTransient(e)),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();

    private async ValueTask<JsonElement> AttemptAsync(string method, long id, byte[] body, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync(_endpoint, content, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new HttpRequestException($"{method} to {Endpoint}: HTTP {(int)response.StatusCode}", null, response.StatusCode);
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var result = Parse(method, id, bytes);
            outcome = "ok";
            return result;
        }
        catch (JsonRpcException e)
        {
            outcome = "rpc_error";
            if (IsTransient(e))
            {
                LogRefused(_logger, method, Endpoint, e.Code, e.RpcMessage);
            }

            throw;
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            // The message of a connection failure can carry the full URL.
            LogUnreachable(_logger, method, Endpoint, e.HttpRequestError);
            throw new HttpRequestException(e.HttpRequestError, $"{method} to {Endpoint} failed: {e.HttpRequestError}", null, null);
        }
        finally
        {
            Calls.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new("method", method), new("outcome", outcome));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} to {Endpoint} was refused with {Code} {RpcMessage}")]
    private static partial void LogRefused(ILogger logger, string method, string endpoint, int code, string rpcMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} to {Endpoint} failed: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string method, string endpoint, HttpRequestError error);

    private JsonElement Parse(string method, long id, byte[] bytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new HttpRequestException($"{method} to {Endpoint}: the answer is not JSON ({e.Message})", null, HttpStatusCode.BadGateway);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var answeredId) || answeredId.ValueKind != JsonValueKind.Number || answeredId.GetInt64() != id)
            {
                throw new HttpRequestException($"{method} to {Endpoint}: the answer is not a JSON-RPC response to request {id}", null, HttpStatusCode.BadGateway);
            }

            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 0;
                var message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                string? data = error.TryGetProperty("data", out var d) ? d.ValueKind == JsonValueKind.String ? d.GetString() : d.GetRawText() : null;
                throw new JsonRpcException(method, code, message, data);
            }

            return root.TryGetProperty("result", out var result)
                ? result.Clone()
                : throw new HttpRequestException($"{method} to {Endpoint}: the answer has neither result nor error", null, HttpStatusCode.BadGateway);
        }
    }
}

/// <summary>The node answered a JSON-RPC call with an error object.</summary>
public sealed class JsonRpcException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JsonRpcException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public JsonRpcException(string message)
        : base(message) => RpcMessage = message;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public JsonRpcException(string message, Exception innerException)
        : base(message, innerException) => RpcMessage = message;

    /// <summary>Creates the exception.</summary>
    /// <param name="method">The method called.</param>
    /// <param name="code">The error code.</param>
    /// <param name="message">The node's message.</param>
    /// <param name="data">The error's data member: revert data as hex for reverts.</param>
    public JsonRpcException(string method, int code, string message, string? data)
        : base($"{method} failed: {message} (code {code})")
    {
        Method = method;
        Code = code;
        RpcMessage = message;
        Data = data;
    }

    /// <summary>The method called.</summary>
    public string Method { get; } = "";

    /// <summary>The JSON-RPC error code.</summary>
    public int Code { get; }

    /// <summary>The node's message.</summary>
    public string RpcMessage { get; } = "";

    /// <summary>The error's data member, if any (for a revert, the revert data as hex).</summary>
    public new string? Data { get; }

    /// <summary>Whether this is an EVM revert (code 3, or a message saying so).</summary>
    public bool IsRevert => Code == 3 || RpcMessage.Contains("revert", StringComparison.OrdinalIgnoreCase);

    /// <summary>The revert data, if the node sent it.</summary>
    /// <returns>The bytes, or empty.</returns>
    public byte[] RevertData()
    {
        if (Data is not { } data || !data.StartsWith("0x", StringComparison.Ordinal))
        {
            return [];
        }

        try
        {
            return Hex.Decode(data);
        }
        catch (FormatException)
        {
            return [];
        }
    }
}
