using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using DePin.Ethereum;
using DePin.Marketplace;

using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

public sealed class HeartbeatTests
{
    [Fact]
    public async Task TheHeartbeat_IsSignedByTheProviderKey_ForTheCallersNonce()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        var provider = PrivateKey.FromHex(agent.KeyHex).Address;

        var beat = JsonSerializer.Deserialize<Heartbeat>(await agent.Http.GetStringAsync("healthz?nonce=n-123"), JsonSerializerOptions.Web)!;

        Assert.True(beat.Verify(provider, "n-123"));
        Assert.False(beat.Verify(provider, "another-nonce"));
        Assert.False(beat.Verify(PrivateKey.FromHex(new string('1', 64)).Address, "n-123"));
        Assert.False((beat with { Pods = 5 }).Verify(provider, "n-123"));
    }

    [Fact]
    public async Task TheStreamedHeartbeat_EndsTheMomentTheAgentDies()
    {
        using var directory = new AgentDirectory();
        var agent = await AgentProcess.StartAsync(directory.Data);
        var provider = PrivateKey.FromHex(agent.KeyHex).Address;
        using var response = await agent.Http.GetAsync("v1/heartbeat?nonce=stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var first = JsonSerializer.Deserialize<Heartbeat>((await reader.ReadLineAsync(timeout.Token))!, JsonSerializerOptions.Web)!;
        var second = JsonSerializer.Deserialize<Heartbeat>((await reader.ReadLineAsync(timeout.Token))!, JsonSerializerOptions.Web)!;
        Assert.True(first.Verify(provider, "stream") && second.Verify(provider, "stream"));
        Assert.Equal(first.Sequence + 1, second.Sequence);

        var killed = System.Diagnostics.Stopwatch.StartNew();
        await agent.KillAsync();
        try
        {
            while (await reader.ReadLineAsync(timeout.Token) is not null)
            {
            }
        }
        catch (IOException)
        {
            // A reset connection: seen as fast as an end of stream.
        }

        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(2), $"the stream ended {killed.Elapsed} after the kill");
        await agent.DisposeAsync();
    }

    [Fact]
    public async Task WithACertificate_TheAgentServesHttps()
    {
        using var directory = new AgentDirectory();
        Directory.CreateDirectory(directory.Data);
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = Path.Combine(directory.Data, "tls.crt");
        var keyFile = Path.Combine(directory.Data, "tls.key");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, rsa.ExportPkcs8PrivateKeyPem());
        await using var agent = await AgentProcess.StartHttpsAsync(directory.Data, certificate.Thumbprint, "--tls-cert-file", certFile, "--tls-key-file", keyFile);

        Assert.Equal("https", agent.Http.BaseAddress!.Scheme);
        using var response = await agent.Http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var plain = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetStringAsync($"http://127.0.0.1:{agent.Port}/healthz"));
    }

    [Fact]
    public async Task Metrics_AreServedInPrometheusFormat()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        await agent.CreateLeaseAsync("m", replicas: 1);

        var metrics = await agent.Http.GetStringAsync("metrics");

        Assert.Contains("depin_agent_leases{otel_scope_name=\"DePin.ProviderAgent\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("depin_agent_pods{otel_scope_name=\"DePin.ProviderAgent\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("depin_agent_capacity_used{otel_scope_name=\"DePin.ProviderAgent\",resource=\"cpu\"} 1000", metrics, StringComparison.Ordinal);
    }
}
