using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DePin.Ethereum;

namespace DePin.Marketplace;

/// <summary>A provider of a static fleet.</summary>
/// <param name="Id">Its stable id.</param>
/// <param name="Endpoint">Its agent's base URL.</param>
/// <param name="Region">Its jurisdiction.</param>
/// <param name="Attributes">Its attributes.</param>
/// <param name="BearerToken">The token its agent expects from the operator.</param>
public sealed record StaticProvider(string Id, Uri Endpoint, string Region, IReadOnlyDictionary<string, string> Attributes, string BearerToken)
{
    /// <summary>Never the token.</summary>
    /// <returns>The provider without its token.</returns>
    public override string ToString() => $"StaticProvider {{ Id = {Id}, Endpoint = {Endpoint}, Region = {Region} }}";
}

/// <summary>A provider refused or failed a request; the message says which and why.</summary>
public sealed class MarketplaceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MarketplaceException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public MarketplaceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public MarketplaceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A fixed fleet of providers whose agents quote over HTTP (<c>POST /v1/quotes</c>) and open leases on
/// request (<c>POST /v1/leases</c>), with a bearer token per provider. Order and lease ids are derived
/// from the order's key, so posting, accepting and closing again after a restart act on the same ids and
/// never open a second lease. There is no escrow: payment is settled outside, as a private fleet does.
/// </summary>
public sealed class StaticMarketplace : IMarketplace
{
    private readonly HttpClient _http;
    private readonly IReadOnlyList<StaticProvider> _providers;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, OrderSpec> _orders = new(StringComparer.Ordinal);

    /// <summary>Creates the marketplace.</summary>
    /// <param name="http">The HTTP client for the agents.</param>
    /// <param name="providers">The fleet.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public StaticMarketplace(HttpClient http, IReadOnlyList<StaticProvider> providers, TimeProvider? time = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _providers = providers ?? throw new ArgumentNullException(nameof(providers));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The order id for a key: <c>o</c> and 15 hex digits of its SHA-256, a valid name for an agent.</summary>
    /// <param name="key">The order's key.</param>
    /// <returns>The id.</returns>
    public static string OrderId(string key) => "o" + Digest(key);

    /// <summary>The lease id of an order's lease with a provider.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="providerId">The provider.</param>
    /// <returns>The id.</returns>
    public static string LeaseId(string orderId, string providerId) => "l" + Digest(orderId + "/" + providerId);

    /// <inheritdoc/>
    public Task<PostedOrder> PostOrderAsync(OrderSpec order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        var id = OrderId(order.Key);
        _orders[id] = order;
        return Task.FromResult(new PostedOrder(id, _time.GetUtcNow() + order.BidWindow));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Offer>> OffersAsync(string orderId, IReadOnlyList<Address> auditors, CancellationToken cancellationToken = default)
    {
        var order = Order(orderId);
        var quotes = await Task.WhenAll(_providers.Select(async provider =>
        {
            var request = new JsonObject
            {
                ["replicas"] = order.Replicas,
                ["resources"] = Resources(order.Resources),
                ["maxPricePerHour"] = order.MaxPricePerHour.ToString(CultureInfo.InvariantCulture),
            };
            try
            {
                var answer = await SendAsync(provider, HttpMethod.Post, "v1/quotes", request, cancellationToken).ConfigureAwait(false);
                if (answer?["accepted"]?.GetValue<bool>() != true)
                {
                    return null;
                }

                return new Offer(
                    orderId + ":" + provider.Id,
                    provider.Id,
                    answer["provider"]?.GetValue<string>() is { } address ? Address.Parse(address) : null,
                    provider.Endpoint.ToString(),
                    provider.Region,
                    provider.Attributes,
                    BigInteger.Parse(answer["pricePerHour"]!.GetValue<string>(), CultureInfo.InvariantCulture),
                    answer["replicas"]!.GetValue<int>(),
                    []);
            }
            catch (MarketplaceException)
            {
                // A provider that cannot quote makes no offer; the others still do.
                return null;
            }
        })).ConfigureAwait(false);
        return [.. quotes.OfType<Offer>()];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LeaseInfo>> AcceptAsync(string orderId, IReadOnlyList<Offer> offers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offers);
        var order = Order(orderId);
        var total = offers.Sum(o => o.Replicas);
        if (total != order.Replicas)
        {
            throw new MarketplaceException($"the accepted offers hold {total} replicas; order {orderId} wants {order.Replicas}");
        }

        var leases = new List<LeaseInfo>();
        foreach (var offer in offers)
        {
            var provider = Provider(offer.ProviderId);
            var leaseId = LeaseId(orderId, provider.Id);
            await SendAsync(provider, HttpMethod.Post, "v1/leases", new JsonObject
            {
                ["id"] = leaseId,
                ["orderId"] = orderId,
                ["pricePerHour"] = offer.PricePerHour.ToString(CultureInfo.InvariantCulture),
                ["replicas"] = offer.Replicas,
                ["resources"] = Resources(order.Resources),
            }, cancellationToken).ConfigureAwait(false);
            leases.Add(new LeaseInfo(leaseId, orderId, provider.Id, provider.Endpoint.ToString(), offer.PricePerHour, offer.Replicas, null, false));
        }

        return leases;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LeaseInfo>> LeasesOfOrderAsync(string orderId, CancellationToken cancellationToken = default)
    {
        // Lease ids derive from the order and the provider, so each provider is asked about its own only.
        var found = new List<LeaseInfo>();
        foreach (var provider in _providers)
        {
            if (await FindLeaseAsync(provider, LeaseId(orderId, provider.Id), cancellationToken).ConfigureAwait(false) is { } lease)
            {
                found.Add(lease);
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public async Task<LeaseInfo?> GetLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        foreach (var provider in _providers)
        {
            if (await FindLeaseAsync(provider, leaseId, cancellationToken).ConfigureAwait(false) is { } lease)
            {
                return lease;
            }
        }

        return null;
    }

    /// <summary>A static fleet has no escrow: payment is settled outside the marketplace.</summary>
    /// <param name="leaseId">The lease.</param>
    /// <param name="amount">Token units.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A completed task.</returns>
    public Task TopUpAsync(string leaseId, BigInteger amount, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task CloseLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        // Only the provider that holds the lease knows it. One that cannot be reached might be that
        // provider, so the close is confirmed only if another one held it.
        MarketplaceException? unreachable = null;
        foreach (var provider in _providers)
        {
            try
            {
                if (await SendAsync(provider, HttpMethod.Delete, $"v1/leases/{Uri.EscapeDataString(leaseId)}", null, cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false) is not null)
                {
                    return;
                }
            }
            catch (MarketplaceException e) when (e.InnerException is HttpRequestException)
            {
                unreachable ??= e;
            }
        }

        if (unreachable is not null)
        {
            throw unreachable;
        }
    }

    /// <inheritdoc/>
    public Task CancelOrderAsync(string orderId, CancellationToken cancellationToken = default)
    {
        _orders.TryRemove(orderId, out _);
        return Task.CompletedTask;
    }

    private async Task<LeaseInfo?> FindLeaseAsync(StaticProvider provider, string leaseId, CancellationToken cancellationToken)
    {
        var leases = await SendAsync(provider, HttpMethod.Get, "v1/leases", null, cancellationToken).ConfigureAwait(false);
        if (leases?.AsArray().FirstOrDefault(l => l?["id"]?.GetValue<string>() == leaseId) is not { } lease)
        {
            return null;
        }

        var price = lease["pricePerHour"]?.GetValue<string>() is { } text && BigInteger.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : BigInteger.Zero;
        return new LeaseInfo(leaseId, lease["orderId"]?.GetValue<string>() ?? "", provider.Id, provider.Endpoint.ToString(), price, lease["replicas"]!.GetValue<int>(), null, false);
    }

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..15];

    private static JsonObject Resources(ReplicaResources resources) => new()
    {
        ["cpuMillis"] = resources.CpuMillis,
        ["memoryMiB"] = resources.MemoryMiB,
        ["storageMiB"] = resources.StorageMiB,
        ["gpuCount"] = resources.GpuCount,
        ["gpuModel"] = resources.GpuModel,
    };

    private OrderSpec Order(string orderId) =>
        _orders.TryGetValue(orderId, out var order) ? order : throw new MarketplaceException($"order {orderId} is not known here; post it again with the same key");

    private StaticProvider Provider(string id) =>
        _providers.FirstOrDefault(p => p.Id == id) ?? throw new MarketplaceException($"provider {id} is not in the fleet");

    private async Task<JsonNode?> SendAsync(StaticProvider provider, HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken, params HttpStatusCode[] tolerated)
    {
        using var request = new HttpRequestMessage(method, new Uri(provider.Endpoint, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", provider.BearerToken);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (tolerated.Contains(response.StatusCode))
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = text.Length > 0 && text[0] == '{' ? JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text : text;
                throw new MarketplaceException($"provider {provider.Id}: {method} {path} answered {(int)response.StatusCode}: {message}");
            }

            return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text);
        }
        catch (HttpRequestException e)
        {
            throw new MarketplaceException($"provider {provider.Id} at {provider.Endpoint} is unreachable: {e.HttpRequestError}", e);
        }
    }
}
