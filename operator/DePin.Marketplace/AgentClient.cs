using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.Ethereum;

namespace DePin.Marketplace;

/// <summary>How the operator proves who it is to an agent.</summary>
public abstract class AgentCredentials
{
    /// <summary>Adds the credentials to a request for a lease.</summary>
    /// <param name="request">The request, its content set.</param>
    /// <param name="body">The body bytes.</param>
    /// <param name="leaseId">The lease.</param>
    /// <param name="time">The clock.</param>
    public abstract void Apply(HttpRequestMessage request, byte[] body, string leaseId, TimeProvider time);

    /// <summary>A static fleet's bearer token.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The credentials.</returns>
    public static AgentCredentials Bearer(string token) => new BearerCredentials(token);

    /// <summary>The tenant's key, which signs each request (EVM marketplaces).</summary>
    /// <param name="tenant">The key.</param>
    /// <returns>The credentials.</returns>
    public static AgentCredentials Tenant(PrivateKey tenant) => new TenantCredentials(tenant);

    private sealed class BearerCredentials(string token) : AgentCredentials
    {
        public override void Apply(HttpRequestMessage request, byte[] body, string leaseId, TimeProvider time) =>
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

        public override string ToString() => "bearer token (redacted)";
    }

    private sealed class TenantCredentials(PrivateKey key) : AgentCredentials
    {
        public override void Apply(HttpRequestMessage request, byte[] body, string leaseId, TimeProvider time)
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            var pathAndQuery = request.RequestUri!.PathAndQuery;
            request.Headers.Add(TenantRequest.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(TenantRequest.SignerHeader, key.Address.ToString());
            request.Headers.Add(TenantRequest.SignatureHeader, TenantRequest.Sign(request.Method.Method, pathAndQuery, body, timestamp, leaseId, key));
        }

        public override string ToString() => $"tenant signature of {key.Address}";
    }
}

/// <summary>The agent answered a request with an error.</summary>
public sealed class AgentRequestFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentRequestFailedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public AgentRequestFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public AgentRequestFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="message">The agent's message.</param>
    public AgentRequestFailedException(HttpStatusCode status, string message)
        : base(message) => Status = status;

    /// <summary>The HTTP status, or null when the agent was unreachable.</summary>
    public HttpStatusCode? Status { get; }
}

/// <summary>
/// The operator's side of the agent API: the pods of one lease (virtual-kubelet's PodLifecycleHandler
/// over HTTP) and the signed heartbeat, which is verified against the provider's address.
/// </summary>
public sealed class AgentClient
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly AgentCredentials _credentials;
    private readonly TimeProvider _time;

    /// <summary>Creates the client.</summary>
    /// <param name="http">The HTTP client.</param>
    /// <param name="endpoint">The agent's base URL.</param>
    /// <param name="credentials">How to prove who the operator is.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public AgentClient(HttpClient http, Uri endpoint, AgentCredentials credentials, TimeProvider? time = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Creates a pod (a Kubernetes v1 Pod as JSON).</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="pod">The pod.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pod with its status.</returns>
    public async Task<JsonObject> CreatePodAsync(string leaseId, JsonObject pod, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, leaseId, $"v1/leases/{Segment(leaseId)}/pods", pod, cancellationToken).ConfigureAwait(false))!.AsObject();

    /// <summary>Replaces a pod's spec.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="pod">The pod.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pod with its status.</returns>
    public async Task<JsonObject> UpdatePodAsync(string leaseId, JsonObject pod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var name = pod["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("the pod has no name", nameof(pod));
        return (await SendAsync(HttpMethod.Put, leaseId, $"v1/leases/{Segment(leaseId)}/pods/{Segment(name)}", pod, cancellationToken).ConfigureAwait(false))!.AsObject();
    }

    /// <summary>Reads a pod and its status.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="name">The pod.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pod, or null when the agent has no such pod.</returns>
    public async Task<JsonObject?> GetPodAsync(string leaseId, string name, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Get, leaseId, $"v1/leases/{Segment(leaseId)}/pods/{Segment(name)}", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false))?.AsObject();

    /// <summary>Lists the lease's pods.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pods.</returns>
    public async Task<IReadOnlyList<JsonObject>> ListPodsAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        var list = await SendAsync(HttpMethod.Get, leaseId, $"v1/leases/{Segment(leaseId)}/pods", null, cancellationToken).ConfigureAwait(false);
        return [.. list!["items"]!.AsArray().Select(p => p!.AsObject())];
    }

    /// <summary>Deletes a pod; returns once the agent confirms every process is gone.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="name">The pod.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when deleted, false when there was no such pod.</returns>
    public async Task<bool> DeletePodAsync(string leaseId, string name, CancellationToken cancellationToken = default) =>
        await SendAsync(HttpMethod.Delete, leaseId, $"v1/leases/{Segment(leaseId)}/pods/{Segment(name)}", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false) is not null;

    /// <summary>Reads a container's log.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="name">The pod.</param>
    /// <param name="container">The container, or null for the first.</param>
    /// <param name="tailLines">The last lines only, or null for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The log text.</returns>
    public async Task<string> LogsAsync(string leaseId, string name, string? container = null, int? tailLines = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (container is not null)
        {
            query.Add("container=" + Uri.EscapeDataString(container));
        }

        if (tailLines is { } tail)
        {
            query.Add("tailLines=" + tail.ToString(CultureInfo.InvariantCulture));
        }

        using var request = Request(HttpMethod.Get, leaseId, $"v1/leases/{Segment(leaseId)}/pods/{Segment(name)}/logs{(query.Count > 0 ? "?" + string.Join("&", query) : "")}", []);
        using var response = await Send(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? text : throw Failure(response.StatusCode, text, request);
    }

    /// <summary>Asks for one heartbeat and checks that the provider signed it for this nonce.</summary>
    /// <param name="provider">The provider's address.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verified heartbeat.</returns>
    /// <exception cref="AgentRequestFailedException">The agent did not answer, or the heartbeat does not verify.</exception>
    public async Task<Heartbeat> HeartbeatAsync(Address provider, CancellationToken cancellationToken = default)
    {
        var nonce = Guid.NewGuid().ToString("N");
        try
        {
            var text = await _http.GetStringAsync(new Uri(_endpoint, $"healthz?nonce={nonce}"), cancellationToken).ConfigureAwait(false);
            var beat = JsonSerializer.Deserialize<Heartbeat>(text, JsonSerializerOptions.Web) ?? throw new AgentRequestFailedException("the heartbeat is empty");
            return beat.Verify(provider, nonce) ? beat : throw new AgentRequestFailedException($"the heartbeat from {_endpoint} is not signed by {provider}");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException)
        {
            throw new AgentRequestFailedException($"no heartbeat from {_endpoint}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Follows the streamed heartbeat: every heartbeat is verified, and the stream ends (or throws) the
    /// moment the connection breaks, which is how a crashed provider is noticed at once.
    /// </summary>
    /// <param name="provider">The provider's address.</param>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>The verified heartbeats.</returns>
    public async IAsyncEnumerable<Heartbeat> HeartbeatStreamAsync(Address provider, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var nonce = Guid.NewGuid().ToString("N");
        using var response = await _http.GetAsync(new Uri(_endpoint, $"v1/heartbeat?nonce={nonce}"), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        var last = 0L;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            var beat = JsonSerializer.Deserialize<Heartbeat>(line, JsonSerializerOptions.Web);
            if (beat is null || !beat.Verify(provider, nonce))
            {
                throw new AgentRequestFailedException($"a streamed heartbeat from {_endpoint} is not signed by {provider}");
            }

            // A heartbeat repeated or reordered on the way is not a sign of life.
            if (beat.Sequence <= last)
            {
                throw new AgentRequestFailedException($"a streamed heartbeat from {_endpoint} repeats sequence {beat.Sequence}");
            }

            last = beat.Sequence;
            yield return beat;
        }
    }

    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static AgentRequestFailedException Failure(HttpStatusCode status, string text, HttpRequestMessage request)
    {
        string message;
        try
        {
            message = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text;
        }
        catch (JsonException)
        {
            message = text;
        }

        return new AgentRequestFailedException(status, $"{request.Method} {request.RequestUri?.AbsolutePath}: {(int)status} {message}");
    }

    private HttpRequestMessage Request(HttpMethod method, string leaseId, string path, byte[] body)
    {
        var request = new HttpRequestMessage(method, new Uri(_endpoint, path));
        if (body.Length > 0)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        _credentials.Apply(request, body, leaseId, _time);
        return request;
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new AgentRequestFailedException($"{request.Method} {request.RequestUri?.AbsolutePath}: the agent at {_endpoint} is unreachable ({e.HttpRequestError})", e);
        }
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string leaseId, string path, JsonNode? body, CancellationToken cancellationToken, params HttpStatusCode[] tolerated)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body.ToJsonString());
        using var request = Request(method, leaseId, path, bytes);
        using var response = await Send(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (tolerated.Contains(response.StatusCode))
        {
            return null;
        }

        return response.IsSuccessStatusCode ? JsonNode.Parse(text.Length == 0 ? "{}" : text) : throw Failure(response.StatusCode, text, request);
    }
}
