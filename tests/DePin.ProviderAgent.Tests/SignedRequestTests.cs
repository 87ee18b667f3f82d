using DePin.Ethereum;
using DePin.Marketplace;
using DePin.ProviderAgent.Api;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pods;
using DePin.ProviderAgent.Runtime;
using DePin.ProviderAgent.State;
using DePin.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>EVM mode: tenant requests are EIP-191 signed by the lease's tenant, fresh and used once.</summary>
public sealed class SignedRequestTests : IDisposable
{
    private static readonly PrivateKey Tenant = PrivateKey.FromHex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    private static readonly PrivateKey Stranger = PrivateKey.FromHex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3f8e8f5bb5b3f0d7");

    private readonly AgentDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ContainerProber _prober = new();
    private readonly RequestGuard _guard;

    public SignedRequestTests()
    {
        var options = new AgentOptions { Mode = AgentMode.Evm, DataDir = _directory.Data };
        var ledger = new CapacityLedger(new HostCapacity(4000, 8192, 10240, []));
        var pods = new PodManager(options, new StateStore(options.DataDir), ledger, new ProcessRuntime(options), _prober, NullLogger<PodManager>.Instance, _time);
        var lease = new LeaseRecord { Id = "7", Tenant = Tenant.Address.ToString(), Replicas = 1, PerReplica = new ResourceRequest(500, 256, 0) };
        Assert.Null(pods.AddLeaseAsync(lease, null, CancellationToken.None).GetAwaiter().GetResult());
        _guard = new RequestGuard(options, pods, _time);
    }

    [Fact]
    public void TheTenantsSignature_IsAccepted_Once()
    {
        var body = "{\"metadata\":{\"name\":\"p\"}}"u8.ToArray();
        var request = Signed("POST", "/v1/leases/7/pods", body, Tenant);

        _guard.Authorize(request, "7", body);

        var replay = Assert.Throws<AgentRequestException>(() => _guard.Authorize(Copy(request), "7", body));
        Assert.Equal(401, replay.Status);
        Assert.Contains("replayed", replay.Message, StringComparison.Ordinal);

        // The same signature written differently (v as 0/1 instead of 27/28, upper-case hex) is still a replay.
        var rewritten = Copy(request);
        var signature = Hex.Decode(rewritten.Headers[TenantRequest.SignatureHeader].ToString());
        signature[64] -= 27;
        rewritten.Headers[TenantRequest.SignatureHeader] = "0x" + Convert.ToHexString(signature);
        Assert.Contains("replayed", Assert.Throws<AgentRequestException>(() => _guard.Authorize(rewritten, "7", body)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsignedRequests_Get401()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/v1/leases/7/pods";

        var error = Assert.Throws<AgentRequestException>(() => _guard.Authorize(context.Request, "7", []));

        Assert.Equal(401, error.Status);
        Assert.Contains("unsigned request", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AlteredRequests_Get401_OrAreAttributedToSomeoneElse()
    {
        var body = "{\"a\":1}"u8.ToArray();

        // Another body than the one signed.
        var tampered = Assert.Throws<AgentRequestException>(() => _guard.Authorize(Signed("POST", "/v1/leases/7/pods", body, Tenant), "7", "{\"a\":2}"u8.ToArray()));
        Assert.Equal(401, tampered.Status);
        Assert.Contains("does not verify", tampered.Message, StringComparison.Ordinal);

        // Signed by one key but claiming another signer.
        var impostor = Signed("GET", "/v1/leases/7/pods", [], Stranger);
        impostor.Headers[TenantRequest.SignerHeader] = Tenant.Address.ToString();
        Assert.Equal(401, Assert.Throws<AgentRequestException>(() => _guard.Authorize(impostor, "7", [])).Status);

        var garbage = Signed("GET", "/v1/leases/7/pods", [], Tenant);
        garbage.Headers[TenantRequest.SignatureHeader] = "0x1234";
        var malformed = Assert.Throws<AgentRequestException>(() => _guard.Authorize(garbage, "7", []));
        Assert.Equal(401, malformed.Status);
        Assert.Contains("does not verify", malformed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StaleAndFutureTimestamps_Get401()
    {
        var stale = Signed("GET", "/v1/leases/7/pods", [], Tenant, _time.GetUtcNow().AddSeconds(-61));
        var future = Signed("GET", "/v1/leases/7/pods", [], Tenant, _time.GetUtcNow().AddSeconds(61));
        var edge = Signed("GET", "/v1/leases/7/pods", [], Tenant, _time.GetUtcNow().AddSeconds(-60));

        Assert.Equal(401, Assert.Throws<AgentRequestException>(() => _guard.Authorize(stale, "7", [])).Status);
        Assert.Contains("61 s away", Assert.Throws<AgentRequestException>(() => _guard.Authorize(future, "7", [])).Message, StringComparison.Ordinal);
        _guard.Authorize(edge, "7", []);
    }

    [Fact]
    public void AnotherTenantsLease_Gets403()
    {
        var error = Assert.Throws<AgentRequestException>(() => _guard.Authorize(Signed("GET", "/v1/leases/7/pods", [], Stranger), "7", []));

        Assert.Equal(403, error.Status);
        Assert.Contains("another tenant", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownLeases_Get404()
    {
        var error = Assert.Throws<AgentRequestException>(() => _guard.Authorize(Signed("GET", "/v1/leases/8/pods", [], Tenant, lease: "8"), "8", []));

        Assert.Equal(404, error.Status);
    }

    public void Dispose()
    {
        _prober.Dispose();
        _directory.Dispose();
    }

    private HttpRequest Signed(string method, string path, byte[] body, PrivateKey key, DateTimeOffset? at = null, string lease = "7")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        var timestamp = (at ?? _time.GetUtcNow()).ToUnixTimeSeconds();
        context.Request.Headers[TenantRequest.TimestampHeader] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Request.Headers[TenantRequest.SignatureHeader] = TenantRequest.Sign(method, path, body, timestamp, lease, key);
        context.Request.Headers[TenantRequest.SignerHeader] = key.Address.ToString();
        return context.Request;
    }

    private static HttpRequest Copy(HttpRequest request)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = request.Method;
        context.Request.Path = request.Path;
        foreach (var (name, value) in request.Headers)
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }
}
