using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DePin.Operator.Tests;

/// <summary>
/// A provider that heartbeats and answers everything but pod creation, which it fails with a 500: a proxy
/// in front of a real agent that forwards every request (the heartbeat stream as it comes) except
/// <c>POST /v1/leases/{lease}/pods</c>.
/// </summary>
internal sealed class AgentFaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _agent;
    private int _refused;

    private AgentFaultProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _agent = new HttpClient { BaseAddress = upstream, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The proxy's address, to give as the provider's endpoint.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Pod creations refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static async Task<AgentFaultProxy> StartAsync(Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new AgentFaultProxy(app, upstream);
        app.Run(proxy.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        proxy.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        // The operator may still follow the heartbeat stream through it: connections are cut, not waited for.
        using (var quickly = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            await _app.StopAsync(quickly.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _agent.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (context.Request.Method == "POST" && segments is ["v1", "leases", _, "pods"])
        {
            Interlocked.Increment(ref _refused);
            context.Response.StatusCode = 500;
            await context.Response.WriteAsJsonAsync(new { code = 500, message = "injected: the provider fails every pod creation" }).ConfigureAwait(false);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), path.TrimStart('/') + context.Request.QueryString);
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (body.Length > 0 || context.Request.ContentLength is > 0)
        {
            request.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is not ("Host" or "Content-Length" or "Transfer-Encoding") && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values);
            }
        }

        try
        {
            using var response = await _agent.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (name is not ("Transfer-Encoding" or "Content-Length"))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            // Streamed as it comes, so that heartbeats pass through one by one.
            await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = new byte[8192];
            int read;
            while ((read = await stream.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            context.Abort();
        }
    }
}
