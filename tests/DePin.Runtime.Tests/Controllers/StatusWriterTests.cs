using System.Net;
using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using k8s;
using k8s.Autorest;

namespace DePin.Runtime.Tests.Controllers;

public sealed class StatusWriterTests : IAsyncLifetime
{
    private readonly KubeFixture _kube = new();
    private readonly Counter _requests = new();
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        await _kube.InitializeAsync();
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _kube.Server.Url.ToString() }, _requests);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _kube.DisposeAsync();
    }

    [Fact]
    public async Task Write_UnchangedStatus_SendsNoRequest_ChangedStatusSendsOne()
    {
        var writer = new StatusWriter<DePinLease>(ResourceApi.Custom<DePinLease>(_client));
        var lease = await _kube.CreateAsync(KubeFixture.Lease("counted"));

        var written = await writer.WriteAsync(lease, new DePinLeaseStatus { State = LeaseState.Active, NodeName = "depin-counted" }, default);
        var again = await writer.WriteAsync(written!, new DePinLeaseStatus { State = LeaseState.Active, NodeName = "depin-counted" }, default);
        var changed = await writer.WriteAsync(written!, new DePinLeaseStatus { State = LeaseState.Degraded }, default);

        Assert.Null(again);
        Assert.Equal(2, _requests.Patches);
        Assert.Equal(LeaseState.Degraded, changed!.Status!.State);
        Assert.Null(changed.Status.NodeName);
        Assert.Equal(lease.Metadata.Generation, changed.Metadata.Generation);
    }

    [Fact]
    public async Task Write_FromAStaleCopy_Is409()
    {
        var writer = new StatusWriter<DePinLease>(ResourceApi.Custom<DePinLease>(_client));
        var stale = await _kube.CreateAsync(KubeFixture.Lease("stale"));
        await writer.WriteAsync(stale, new DePinLeaseStatus { State = LeaseState.Active }, default);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => writer.WriteAsync(stale, new DePinLeaseStatus { State = LeaseState.Closed }, default));

        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
    }

    [Fact]
    public void Diff_RemovedFieldsBecomeNull_ArraysAreReplaced()
    {
        var diff = MergePatch.Diff(
            JsonNode.Parse("""{"a":1,"b":{"c":2,"d":3},"e":[1,2]}"""),
            JsonNode.Parse("""{"a":1,"b":{"c":5},"e":[2]}"""));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"b":{"c":5,"d":null},"e":[2]}"""), diff), diff?.ToJsonString());
    }

    private sealed class Counter : DelegatingHandler
    {
        private int _patches;

        public int Patches => Volatile.Read(ref _patches);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Patch)
            {
                Interlocked.Increment(ref _patches);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
