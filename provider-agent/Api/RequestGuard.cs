using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DePin.Ethereum;
using DePin.Marketplace;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pods;

namespace DePin.ProviderAgent.Api;

/// <summary>
/// Decides who may act on a lease. Static mode: the per-provider bearer token. EVM mode: an EIP-191
/// signature over method, path, body hash, timestamp and lease id, by the lease's tenant as the chain
/// recorded it, within ±60 s of the agent's clock, and never seen before.
/// </summary>
internal sealed class RequestGuard
{
    private readonly AgentOptions _options;
    private readonly PodManager _pods;
    private readonly TimeProvider _time;
    private readonly byte[]? _token;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public RequestGuard(AgentOptions options, PodManager pods, TimeProvider time)
    {
        _options = options;
        _pods = pods;
        _time = time;
        if (options.Mode == AgentMode.Static)
        {
            var token = File.ReadAllText(options.TokenFile!).Trim();
            if (token.Length < 16)
            {
                throw new ConfigurationException($"{options.TokenFile}: the bearer token must be at least 16 characters");
            }

            _token = Encoding.UTF8.GetBytes(token);
        }
    }

    /// <summary>Reads the body, up to the configured size.</summary>
    public async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > _options.MaxBodyBytes)
        {
            throw new AgentRequestException(400, $"the body is {request.ContentLength} bytes; at most {_options.MaxBodyBytes} are accepted");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > _options.MaxBodyBytes)
            {
                throw new AgentRequestException(400, $"the body exceeds {_options.MaxBodyBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Requires the operator's bearer token (static mode).</summary>
    public void RequireToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_token is null)
        {
            throw new AgentRequestException(404, "this endpoint exists in static mode only");
        }

        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            throw new AgentRequestException(401, "missing bearer token: send Authorization: Bearer <token>");
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), _token))
        {
            throw new AgentRequestException(401, "the bearer token is wrong");
        }
    }

    /// <summary>Allows a request on a lease, or throws with 401, 403 or 404.</summary>
    public void Authorize(HttpRequest request, string leaseId, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(request);
        PodValidation.CheckName("lease id", leaseId);
        if (_token is not null)
        {
            RequireToken(request);
            return;
        }

        var timestampText = request.Headers[TenantRequest.TimestampHeader].ToString();
        var signatureText = request.Headers[TenantRequest.SignatureHeader].ToString();
        var signerText = request.Headers[TenantRequest.SignerHeader].ToString();
        if (timestampText.Length == 0 || signatureText.Length == 0 || signerText.Length == 0)
        {
            throw new AgentRequestException(401, $"unsigned request: send {TenantRequest.TimestampHeader}, {TenantRequest.SignerHeader} and {TenantRequest.SignatureHeader}");
        }

        if (!long.TryParse(timestampText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp))
        {
            throw new AgentRequestException(401, $"{TenantRequest.TimestampHeader} \"{timestampText}\" is not Unix seconds");
        }

        var now = _time.GetUtcNow();
        var skew = Math.Abs(now.ToUnixTimeSeconds() - timestamp);
        if (skew > TenantRequest.MaxClockSkew.TotalSeconds)
        {
            throw new AgentRequestException(401, $"the request's timestamp is {skew} s away from the agent's clock; at most {TenantRequest.MaxClockSkew.TotalSeconds} s is allowed");
        }

        Address signer;
        byte[] signature;
        try
        {
            var claimed = Address.Parse(signerText);
            var message = TenantRequest.Message(request.Method, request.Path + request.QueryString, body, timestamp, leaseId);
            signature = Hex.Decode(signatureText);
            signer = PersonalMessage.RecoverSigner(message, signature);
            if (signer != claimed)
            {
                throw new CryptographicException($"it was not made by {claimed} over this request");
            }
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new AgentRequestException(401, "the signature does not verify: " + e.Message);
        }

        var lease = _pods.Lease(leaseId) ?? throw new AgentRequestException(404, $"lease {leaseId} is not served by this agent");
        if (lease.Tenant is null || Address.Parse(lease.Tenant) != signer)
        {
            throw new AgentRequestException(403, $"lease {leaseId} belongs to another tenant than {signer}");
        }

        // Remember signatures for as long as their timestamp is acceptable; one seen again is a replay. The
        // key is r and s alone: v may be written 0/1 or 27/28, and the hex in either case, for the same signature.
        if (!_seen.TryAdd(Convert.ToHexStringLower(signature.AsSpan(0, 64)), now + (2 * TenantRequest.MaxClockSkew)))
        {
            throw new AgentRequestException(401, "replayed request: this signature was already used");
        }

        if (_seen.Count > 10_000)
        {
            foreach (var (key, expiry) in _seen)
            {
                if (expiry < now)
                {
                    _seen.TryRemove(key, out _);
                }
            }
        }
    }
}
