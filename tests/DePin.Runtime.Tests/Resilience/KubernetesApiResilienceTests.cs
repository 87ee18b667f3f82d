using System.Diagnostics;
using System.Net;
using DePin.LocalKube;
using DePin.Runtime.Resilience;
using k8s;
using k8s.Autorest;

namespace DePin.Runtime.Tests.Resilience;

public sealed class KubernetesApiResilienceTests : IAsyncLifetime
{
    private LocalKubeServer _server = null!;
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync();
        _client = new Kubernetes(
            new KubernetesClientConfiguration { Host = _server.Url.ToString() },
            new KubernetesApiResilience(new KubernetesApiResilienceOptions { BaseDelay = TimeSpan.FromMilliseconds(20) }));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ServerErrors_AreRetried_UntilTheCallSucceeds()
    {
        _server.Faults.FailNext(3, 503, method: "GET", resource: "namespaces");

        var namespaces = await _client.CoreV1.ListNamespaceAsync();

        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
        Assert.Equal(3, _server.Faults.Injected);
    }

    [Fact]
    public async Task TooManyRequests_WaitsTheRetryAfter()
    {
        _server.Faults.FailNext(1, 429, method: "GET", resource: "namespaces", retryAfterSeconds: 1);
        var clock = Stopwatch.StartNew();

        await _client.CoreV1.ListNamespaceAsync();

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(950), $"retried after {clock.Elapsed}, before Retry-After");
    }

    [Fact]
    public async Task OtherClientErrors_AreNotRetried()
    {
        _server.Faults.FailNext(2, 400, method: "GET", resource: "namespaces");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ListNamespaceAsync());

        Assert.Equal(HttpStatusCode.BadRequest, error.Response.StatusCode);
        Assert.Equal(1, _server.Faults.Injected);
    }

    [Fact]
    public async Task WritesWithABody_AreResentWhole()
    {
        _server.Faults.FailNext(1, 500, method: "POST", resource: "configmaps");

        var created = await _client.CoreV1.CreateNamespacedConfigMapAsync(new k8s.Models.V1ConfigMap
        {
            Metadata = new() { Name = "resent" },
            Data = new Dictionary<string, string> { ["k"] = "v" },
        }, "default");

        Assert.Equal("v", created.Data["k"]);
        Assert.Equal(1, _server.Faults.Injected);
    }
}
