using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DePin.Ethereum;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pods;
using DePin.ProviderAgent.Pricing;
using DePin.ProviderAgent.Runtime;
using DePin.ProviderAgent.State;
using k8s;
using k8s.Models;

namespace DePin.ProviderAgent.Api;

/// <summary>
/// The agent's HTTP API under <c>/v1</c>, shaped after virtual-kubelet's PodLifecycleHandler, plus the
/// signed heartbeat. Every refusal is a 4xx with <c>{"code":N,"message":"..."}</c> saying what was wrong;
/// bad input never yields a 5xx.
/// </summary>
internal static partial class AgentApi
{
    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(Errors);
        app.MapGet("/healthz", Heartbeat);
        app.MapGet("/v1/heartbeat", HeartbeatStream);
        app.MapGet("/v1/node", Node);
        app.MapPost("/v1/quotes", Quote);
        app.MapGet("/v1/leases", ListLeases);
        app.MapPost("/v1/leases", CreateLease);
        app.MapDelete("/v1/leases/{lease}", DeleteLease);
        app.MapGet("/v1/leases/{lease}/pods", ListPods);
        app.MapPost("/v1/leases/{lease}/pods", CreatePod);
        app.MapGet("/v1/leases/{lease}/pods/{name}", GetPod);
        app.MapPut("/v1/leases/{lease}/pods/{name}", UpdatePod);
        app.MapDelete("/v1/leases/{lease}/pods/{name}", DeletePod);
        app.MapGet("/v1/leases/{lease}/pods/{name}/logs", Logs);
    }

    private static async Task Errors(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && Refusal(e) is var (status, message))
        {
            context.Response.Clear();
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["code"] = status, ["message"] = message }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static (int, string)? Refusal(Exception e) => e switch
    {
        AgentRequestException refusal => (refusal.Status, refusal.Message),
        JsonException json => (400, "malformed JSON: " + json.Message),
        BadHttpRequestException bad => (400, bad.Message),
        FormatException format => (400, format.Message),
        _ => null,
    };

    private static IResult Heartbeat(HttpContext context, Ethereum.PrivateKey key, PodManager pods, TimeProvider time)
    {
        var nonce = Nonce(context.Request);
        var usage = pods.Usage();
        return Results.Json(Marketplace.Heartbeat.Create(key, time.GetUtcNow().ToUnixTimeMilliseconds(), nonce, 0, usage.Leases, usage.Pods));
    }

    /// <summary>A heartbeat every interval on a connection that stays open, so that a crash is seen at once.</summary>
    private static async Task HeartbeatStream(HttpContext context, Ethereum.PrivateKey key, PodManager pods, TimeProvider time, AgentOptions options)
    {
        var nonce = Nonce(context.Request);
        context.Response.ContentType = "application/x-ndjson";
        context.Response.Headers.CacheControl = "no-store";
        var abort = context.RequestAborted;
        for (long sequence = 1; !abort.IsCancellationRequested; sequence++)
        {
            var usage = pods.Usage();
            var beat = Marketplace.Heartbeat.Create(key, time.GetUtcNow().ToUnixTimeMilliseconds(), nonce, sequence, usage.Leases, usage.Pods);
            await context.Response.WriteAsync(JsonSerializer.Serialize(beat, JsonSerializerOptions.Web) + "\n", abort).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(abort).ConfigureAwait(false);
            await Task.Delay(options.HeartbeatInterval, time, abort).ConfigureAwait(false);
        }
    }

    private static IResult Node(AgentOptions options, Ethereum.PrivateKey key, CapacityLedger ledger, PodManager pods)
    {
        // One snapshot: the counts and the capacity they hold agree.
        var usage = pods.Usage();
        return Results.Json(new
        {
            provider = key.Address.ToString(),
            mode = options.Mode.ToString().ToLowerInvariant(),
            runtime = pods.Runtime.Name,
            region = options.Region,
            attributes = options.Attributes,
            capacity = ledger.Total,
            used = usage.Used,
            heldForBids = usage.HeldForBids,
            leases = usage.Leases,
            pods = usage.Pods,
        });
    }

    private static async Task<IResult> Quote(HttpRequest request, RequestGuard guard, PricingStrategy pricing, CapacityLedger ledger, Ethereum.PrivateKey key, AgentOptions options)
    {
        guard.RequireToken(request);
        var body = JsonNode.Parse(await guard.ReadBodyAsync(request).ConfigureAwait(false)) as JsonObject ?? throw new AgentRequestException(400, "the quote request is not a JSON object");
        var replicas = Integer(body, "replicas", 1, 10_000);
        var resources = Resources(body["resources"] as JsonObject ?? throw new AgentRequestException(400, "resources is required"));
        var max = BigInteger.TryParse(body["maxPricePerHour"]?.GetValue<string>() ?? "", NumberStyles.None, CultureInfo.InvariantCulture, out var m)
            ? m
            : throw new AgentRequestException(400, "maxPricePerHour must be a string of token units, such as \"2000000\"");
        var tenant = body["tenant"]?.GetValue<string>() is { } t ? Address.Parse(t) : default;
        var quote = pricing.Price(resources, tenant, max);
        var fits = ledger.FitCount(resources, replicas);
        var refusal = quote.Refusal ?? (fits == 0 ? $"the host has no room for one replica ({resources})" : null);
        return Results.Json(new JsonObject
        {
            ["provider"] = key.Address.ToString(),
            ["region"] = options.Region,
            ["accepted"] = refusal is null,
            ["reason"] = refusal,
            ["pricePerHour"] = quote.PricePerReplicaHour?.ToString(CultureInfo.InvariantCulture),
            ["replicas"] = refusal is null ? fits : 0,
        });
    }

    private static IResult ListLeases(HttpRequest request, RequestGuard guard, PodManager pods)
    {
        guard.RequireToken(request);
        return Results.Json(pods.Leases());
    }

    private static async Task<IResult> CreateLease(HttpRequest request, RequestGuard guard, PodManager pods, TimeProvider time)
    {
        guard.RequireToken(request);
        var body = JsonNode.Parse(await guard.ReadBodyAsync(request).ConfigureAwait(false)) as JsonObject ?? throw new AgentRequestException(400, "the lease is not a JSON object");
        var id = body["id"]?.GetValue<string>() ?? throw new AgentRequestException(400, "id is required");
        PodValidation.CheckName("id", id);
        var lease = new LeaseRecord
        {
            Id = id,
            Replicas = Integer(body, "replicas", 1, 10_000),
            PerReplica = Resources(body["resources"] as JsonObject ?? throw new AgentRequestException(400, "resources is required")),
            OrderId = OptionalText(body, "orderId"),
            PricePerHour = OptionalText(body, "pricePerHour"),
            CreatedAt = time.GetUtcNow(),
        };
        if (await pods.AddLeaseAsync(lease, null, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } refusal)
        {
            throw new AgentRequestException(409, refusal);
        }

        return Results.Json(pods.Lease(id), statusCode: 201);
    }

    private static async Task<IResult> DeleteLease(HttpRequest request, string lease, RequestGuard guard, PodManager pods)
    {
        guard.RequireToken(request);
        PodValidation.CheckName("lease id", lease);
        if (pods.Lease(lease) is null)
        {
            throw new AgentRequestException(404, $"lease {lease} is not served by this agent");
        }

        await pods.RemoveLeaseAsync(lease, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static IResult ListPods(HttpRequest request, string lease, RequestGuard guard, PodManager pods)
    {
        guard.Authorize(request, lease, []);
        var list = new V1PodList { Items = [.. pods.List(lease).Select(pods.Render)], Metadata = new V1ListMeta() };
        return Kubernetes(list, 200);
    }

    private static async Task<IResult> CreatePod(HttpRequest request, string lease, RequestGuard guard, PodManager pods)
    {
        var body = await guard.ReadBodyAsync(request).ConfigureAwait(false);
        guard.Authorize(request, lease, body);
        var pod = ParsePod(body);
        var record = await pods.CreateAsync(lease, pod, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Kubernetes(pods.Render(record), 201);
    }

    private static IResult GetPod(HttpRequest request, string lease, string name, RequestGuard guard, PodManager pods)
    {
        guard.Authorize(request, lease, []);
        PodValidation.CheckName("pod name", name);
        var record = pods.Get(lease, name) ?? throw new AgentRequestException(404, $"pod {name} does not exist in lease {lease}");
        return Kubernetes(pods.Render(record), 200);
    }

    private static async Task<IResult> UpdatePod(HttpRequest request, string lease, string name, RequestGuard guard, PodManager pods)
    {
        var body = await guard.ReadBodyAsync(request).ConfigureAwait(false);
        guard.Authorize(request, lease, body);
        PodValidation.CheckName("pod name", name);
        var record = await pods.UpdateAsync(lease, name, ParsePod(body), request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Kubernetes(pods.Render(record), 200);
    }

    private static async Task<IResult> DeletePod(HttpRequest request, string lease, string name, RequestGuard guard, PodManager pods)
    {
        guard.Authorize(request, lease, []);
        PodValidation.CheckName("pod name", name);
        await pods.DeleteAsync(lease, name, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Results.Json(new JsonObject { ["deleted"] = name, ["lease"] = lease });
    }

    /// <summary>Logs with <c>tailLines</c> and <c>follow</c>, as <c>kubectl logs</c> asks for them.</summary>
    private static async Task Logs(HttpContext context, string lease, string name, RequestGuard guard, PodManager pods)
    {
        var request = context.Request;
        guard.Authorize(request, lease, []);
        PodValidation.CheckName("pod name", name);
        var record = pods.Get(lease, name) ?? throw new AgentRequestException(404, $"pod {name} does not exist in lease {lease}");
        var container = request.Query["container"].ToString() is { Length: > 0 } c ? c : record.Containers[0].Name;
        if (record.Containers.All(x => x.Name != container))
        {
            throw new AgentRequestException(404, $"pod {name} has no container {container}");
        }

        int? tail = null;
        if (request.Query["tailLines"].ToString() is { Length: > 0 } tailText)
        {
            tail = int.TryParse(tailText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new AgentRequestException(400, $"tailLines \"{tailText}\" is not a whole number of zero or more");
        }

        var follow = request.Query["follow"].ToString() is "true" or "1";
        var path = pods.LogPath(record, container);
        var (text, position) = ContainerLogs.Tail(path, tail);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        if (follow)
        {
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            bool Done() => pods.Get(lease, name)?.Containers.FirstOrDefault(x => x.Name == container)?.Phase is null or ContainerPhase.Terminated;
            await ContainerLogs.FollowAsync(path, position, context.Response.Body, Done, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static V1Pod ParsePod(byte[] body)
    {
        V1Pod? pod;
        try
        {
            pod = KubernetesJson.Deserialize<V1Pod>(System.Text.Encoding.UTF8.GetString(body));
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new AgentRequestException(400, "malformed JSON: the body is not a Kubernetes v1 Pod (" + e.Message + ")");
        }

        return pod ?? throw new AgentRequestException(400, "the body is empty; send a Kubernetes v1 Pod");
    }

    private static IResult Kubernetes(object value, int status) => Results.Content(KubernetesJson.Serialize(value), "application/json", statusCode: status);

    private static string Nonce(HttpRequest request)
    {
        var nonce = request.Query["nonce"].ToString();
        return nonce.Length == 0 || NonceText().IsMatch(nonce)
            ? nonce
            : throw new AgentRequestException(400, "nonce must be 1 to 128 letters, digits, '-' or '_'");
    }

    private static long Integer(JsonObject body, string name, long min, long max)
    {
        var node = body[name];
        return node is JsonValue value && value.TryGetValue<long>(out var n) && n >= min && n <= max
            ? n
            : throw new AgentRequestException(400, $"{name} must be a whole number from {min} to {max}");
    }

    private static string? OptionalText(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) && text.Length <= 100 => text,
        _ => throw new AgentRequestException(400, $"{name} must be a string of at most 100 characters"),
    };

    private static ResourceRequest Resources(JsonObject resources) => new(
        Integer(resources, "cpuMillis", 0, 10_000_000),
        Integer(resources, "memoryMiB", 0, 100_000_000),
        resources["storageMiB"] is null ? 0 : Integer(resources, "storageMiB", 0, 100_000_000_000),
        resources["gpuCount"] is null ? 0 : (int)Integer(resources, "gpuCount", 0, 64),
        resources["gpuModel"]?.GetValue<string>() ?? "");

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial Regex NonceText();
}
