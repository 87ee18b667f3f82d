using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>
/// Faults a test can inject: failed requests (5xx, or 429 with Retry-After), added latency, a watch held
/// back, every watch closed at once, and compaction so that old resourceVersions get 410 Gone.
/// </summary>
/// <param name="store">The store whose watches and history the faults act on.</param>
public sealed class Faults(ObjectStore store)
{
    private readonly Lock _lock = new();
    private readonly List<FailureRule> _rules = [];
    private readonly List<WatchDelayRule> _watchDelays = [];

    /// <summary>Latency added before every API request.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Requests failed so far by injected rules.</summary>
    public int Injected { get; private set; }

    /// <summary>Fails the next requests that match.</summary>
    /// <param name="count">How many requests to fail.</param>
    /// <param name="code">HTTP status: 500, 503, 429, ...</param>
    /// <param name="method">HTTP method to match, or null for any.</param>
    /// <param name="resource">Path segments the path must contain in this order, or null for any: a plural resource name (<c>pods</c>), or more (<c>depindeployments/web/status</c>).</param>
    /// <param name="retryAfterSeconds">Retry-After for a 429.</param>
    /// <param name="bodyContains">Text the request body must contain, or null for any: <c>"lastFailback"</c> fails only the status writes that change that field.</param>
    public void FailNext(int count, int code, string? method = null, string? resource = null, int retryAfterSeconds = 1, string? bodyContains = null)
    {
        lock (_lock)
        {
            _rules.Add(new FailureRule(count, code, method, resource, retryAfterSeconds, bodyContains));
        }
    }

    /// <summary>
    /// Holds a watch back, as a lagging watch would: the watch that is about to send the ADDED event of the
    /// (<paramref name="skip"/>+1)-th object of the resource waits <paramref name="delay"/> first, and every
    /// later event on it waits behind. Objects are counted once however many watches send them. Once.
    /// </summary>
    /// <param name="resource">The plural resource name, such as <c>depinleases</c>.</param>
    /// <param name="skip">Objects of the resource whose ADDED events go on time before the one held back.</param>
    /// <param name="delay">How long that event is held back.</param>
    public void DelayWatch(string resource, int skip, TimeSpan delay)
    {
        lock (_lock)
        {
            _watchDelays.Add(new WatchDelayRule(resource, skip, delay));
        }
    }

    /// <summary>How long a watch of a resource waits before it sends an event; zero mostly.</summary>
    internal TimeSpan WatchDelay(string resource, string eventType, Func<string?> objectName)
    {
        if (eventType != "ADDED")
        {
            return TimeSpan.Zero;
        }

        lock (_lock)
        {
            if (_watchDelays.FirstOrDefault(r => r.Resource == resource) is not { } rule)
            {
                return TimeSpan.Zero;
            }

            var name = objectName() ?? "";
            if (rule.OnTime.Contains(name) || (rule.OnTime.Count < rule.Skip && rule.OnTime.Add(name)))
            {
                return TimeSpan.Zero;
            }

            _watchDelays.Remove(rule);
            Injected++;
            return rule.Delay;
        }
    }

    /// <summary>Drops every failure not injected yet.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _rules.Clear();
            _watchDelays.Clear();
        }
    }

    /// <summary>Ends every open watch, as an API server restart would.</summary>
    public void CloseAllWatches() => store.CloseAllWatches();

    /// <summary>Forgets past changes, so watches resuming from an older resourceVersion get 410 Gone.</summary>
    public void Compact() => store.Compact();

    internal async Task BeforeRequestAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith("/api", StringComparison.Ordinal))
        {
            return;
        }

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, context.RequestAborted).ConfigureAwait(false);
        }

        string? body = null;
        bool Matches(FailureRule r) => (r.Method is null || r.Method == context.Request.Method)
            && (r.Resource is null || (path + "/").Contains("/" + r.Resource.Trim('/') + "/", StringComparison.Ordinal));
        bool WantsBody()
        {
            lock (_lock)
            {
                return _rules.Any(r => r.Body is not null && Matches(r));
            }
        }

        if (context.Request.ContentLength is not 0 && WantsBody())
        {
            // Read, then rewound for the handler.
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            context.Request.Body.Position = 0;
        }

        FailureRule? hit = null;
        lock (_lock)
        {
            hit = _rules.FirstOrDefault(r => Matches(r) && (r.Body is null || body?.Contains(r.Body, StringComparison.Ordinal) == true));
            if (hit is not null)
            {
                hit.Remaining--;
                Injected++;
                if (hit.Remaining <= 0)
                {
                    _rules.Remove(hit);
                }
            }
        }

        if (hit is null)
        {
            return;
        }

        throw hit.Code == 429
            ? new ApiException(429, "TooManyRequests", "injected: too many requests, please try again later", new JsonObject { ["retryAfterSeconds"] = hit.RetryAfterSeconds })
            : new ApiException(hit.Code, hit.Code switch { 409 => "Conflict", 503 => "ServiceUnavailable", _ => "InternalError" }, $"injected failure with status {hit.Code}");
    }

    /// <summary>Serves the fault endpoints under <c>/localkube/faults/</c>, for tests that run LocalKube as a process.</summary>
    /// <param name="context">The HTTP context.</param>
    /// <returns>True when the request was a fault request.</returns>
    internal async Task<bool> TryServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith("/localkube/faults/", StringComparison.Ordinal) || context.Request.Method != "POST")
        {
            return false;
        }

        var query = context.Request.Query;
        switch (path["/localkube/faults/".Length..])
        {
            case "close-watches":
                CloseAllWatches();
                break;
            case "compact":
                Compact();
                break;
            case "clear":
                Clear();
                break;
            case "latency":
                Latency = TimeSpan.FromMilliseconds(int.TryParse(query["ms"], out var ms) ? ms : 0);
                break;
            case "fail":
                FailNext(
                    int.TryParse(query["count"], out var count) ? count : 1,
                    int.TryParse(query["code"], out var code) ? code : 500,
                    query["method"].FirstOrDefault(),
                    query["resource"].FirstOrDefault(),
                    int.TryParse(query["retryAfter"], out var retry) ? retry : 1,
                    query["body"].FirstOrDefault());
                break;
            default:
                context.Response.StatusCode = 404;
                return true;
        }

        context.Response.StatusCode = 204;
        return true;
    }

    private sealed class WatchDelayRule(string resource, int skip, TimeSpan delay)
    {
        public string Resource { get; } = resource;

        public int Skip { get; } = skip;

        /// <summary>The objects whose ADDED events go on time.</summary>
        public HashSet<string> OnTime { get; } = new(StringComparer.Ordinal);

        public TimeSpan Delay { get; } = delay;
    }

    private sealed class FailureRule(int remaining, int code, string? method, string? resource, int retryAfterSeconds, string? body)
    {
        public string? Body { get; } = body;

        public int Remaining { get; set; } = remaining;

        public int Code { get; } = code;

        public string? Method { get; } = method;

        public string? Resource { get; } = resource;

        public int RetryAfterSeconds { get; } = retryAfterSeconds;
    }
}
