using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DePin.Operator.Tests;

/// <summary>
/// A JSON-RPC proxy on a loopback port in front of an Ethereum node, which a test can break: it can
/// refuse every call (an outage), answer the next calls with an HTTP error, forward a transaction and
/// then drop the connection before the reply (the node has it, the caller cannot know), and slow every
/// call down. The operator reaches its EVM marketplace through it; agents reach the node directly.
/// </summary>
internal sealed class RpcFaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _node = new();
    private readonly Uri _upstream;
    private readonly Lock _lock = new();
    private int _failNext;
    private HttpStatusCode _failStatus;
    private int _loseReplies;
    private int _injected;
    private bool _down;
    private int _repliesLost;
    private readonly List<(string Selector, TimeSpan Outage)> _targets = [];

    private RpcFaultProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The proxy's address.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>While true, every call fails: the connection is dropped without an answer.</summary>
    public bool Down
    {
        get => Volatile.Read(ref _down);
        set => Volatile.Write(ref _down, value);
    }

    /// <summary>Added before every call is forwarded.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Faults injected so far.</summary>
    public int Injected => Volatile.Read(ref _injected);

    /// <summary>Transactions the node received whose reply was dropped.</summary>
    public int RepliesLost => Volatile.Read(ref _repliesLost);

    /// <summary>Replies named by <see cref="LoseReplyThenGoDown"/> not lost yet.</summary>
    public int TargetsLeft
    {
        get
        {
            lock (_lock)
            {
                return _targets.Count;
            }
        }
    }

    public static async Task<RpcFaultProxy> StartAsync(Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new RpcFaultProxy(app, upstream);
        app.Run(proxy.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        proxy.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        return proxy;
    }

    /// <summary>Answers the next <paramref name="count"/> calls with <paramref name="status"/>, forwarding none of them.</summary>
    public void FailNext(int count, HttpStatusCode status)
    {
        lock (_lock)
        {
            _failNext = count;
            _failStatus = status;
        }
    }

    /// <summary>Forwards the next <paramref name="count"/> <c>eth_sendRawTransaction</c> calls, then drops the connection instead of replying.</summary>
    public void LoseRepliesToTransactions(int count)
    {
        lock (_lock)
        {
            _loseReplies = count;
        }
    }

    /// <summary>
    /// Forwards the next transaction that calls the function with this selector, drops the connection
    /// instead of replying, and then refuses every call for <paramref name="outage"/>: longer than the
    /// caller's retries last, so the call fails although the node has the transaction.
    /// </summary>
    public void LoseReplyThenGoDown(ReadOnlySpan<byte> selector, TimeSpan outage)
    {
        lock (_lock)
        {
            _targets.Add((Convert.ToHexStringLower(selector), outage));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _node.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        var methods = Methods(body);
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, context.RequestAborted).ConfigureAwait(false);
        }

        HttpStatusCode? fail = null;
        var loseReply = false;
        TimeSpan? outage = null;
        lock (_lock)
        {
            if (Down)
            {
                _injected++;
                context.Abort();
                return;
            }

            if (_failNext > 0)
            {
                _failNext--;
                _injected++;
                fail = _failStatus;
            }
            else if (methods.Contains("eth_sendRawTransaction") && _targets.FindIndex(t => Calls(body, t.Selector)) is var target and >= 0)
            {
                // The signed bytes hold the call data as they are, so the selector shows in the hex.
                outage = _targets[target].Outage;
                _targets.RemoveAt(target);
                _injected++;
                loseReply = true;
            }
            else if (_loseReplies > 0 && methods.Contains("eth_sendRawTransaction"))
            {
                _loseReplies--;
                _injected++;
                loseReply = true;
            }
        }

        if (fail is { } status)
        {
            context.Response.StatusCode = (int)status;
            await context.Response.WriteAsync("injected fault", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        using var forward = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var answer = await _node.PostAsync(_upstream, forward, context.RequestAborted).ConfigureAwait(false);
        var reply = await answer.Content.ReadAsStringAsync(context.RequestAborted).ConfigureAwait(false);

        if (loseReply)
        {
            Interlocked.Increment(ref _repliesLost);
            if (outage is { } downFor)
            {
                Down = true;
                _ = Task.Delay(downFor).ContinueWith(_ => Down = false, TaskScheduler.Default);
            }

            context.Abort();
            return;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool Calls(string body, string selector)
    {
        var raw = (string?)(JsonNode.Parse(body) as JsonObject)?["params"]?[0];
        return raw is not null && raw.Contains(selector, StringComparison.OrdinalIgnoreCase);
    }

    private static List<string> Methods(string body)
    {
        try
        {
            return JsonNode.Parse(body) switch
            {
                JsonArray batch => [.. batch.Select(c => (string?)c?["method"] ?? "")],
                JsonObject call => [(string?)call["method"] ?? ""],
                _ => [],
            };
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }
}
