using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace DePin.Ethereum.Tests;

/// <summary>Injects faults into JSON-RPC traffic by method: refused requests, or answers lost after the node acted.</summary>
public sealed class FlakyHandler : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private int _remaining = -1;
    private int _failures;

    public FlakyHandler()
        : base(new HttpClientHandler())
    {
    }

    /// <summary>This method's requests reach the node, but the answer is replaced by a connection failure.</summary>
    public string? DropResponseOf { get; init; }

    /// <summary>This method's requests are answered with <see cref="FailWith"/> without reaching the node.</summary>
    public string? FailRequestsOf { get; init; }

    public HttpStatusCode FailWith { get; init; } = HttpStatusCode.ServiceUnavailable;

    /// <summary>How many requests are disturbed.</summary>
    public int Times { get; init; }

    public int Calls(string method) => _calls.GetValueOrDefault(method);

    /// <summary>Requests that failed to reach the node on their own (not injected).</summary>
    public int ConnectionFailures => _failures;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsStringAsync(cancellationToken);
        var method = JsonDocument.Parse(body).RootElement.GetProperty("method").GetString()!;
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        Interlocked.CompareExchange(ref _remaining, Times, -1);
        var disturbed = (method == DropResponseOf || method == FailRequestsOf) && Interlocked.Decrement(ref _remaining) >= 0;
        if (disturbed && method == FailRequestsOf)
        {
            return new HttpResponseMessage(FailWith) { RequestMessage = request };
        }

        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref _failures);
            throw;
        }

        if (disturbed)
        {
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "connection reset after the request was sent");
        }

        return response;
    }
}
