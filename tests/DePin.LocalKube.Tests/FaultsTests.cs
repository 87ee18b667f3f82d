using System.Diagnostics;
using System.Net;

namespace DePin.LocalKube.Tests;

public sealed class FaultsTests : IAsyncLifetime
{
    private LocalKubeServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync();
        _http = new HttpClient { BaseAddress = _server.Url };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task FailNext_429_AnswersWithRetryAfterThenRecovers()
    {
        _server.Faults.FailNext(2, 429, method: "GET", resource: "configmaps", retryAfterSeconds: 3);

        var first = await _http.GetAsync("/api/v1/namespaces/default/configmaps");
        var other = await _http.GetAsync("/api/v1/namespaces/default/secrets");
        var second = await _http.GetAsync("/api/v1/namespaces/default/configmaps");
        var third = await _http.GetAsync("/api/v1/namespaces/default/configmaps");

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), first.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(2, _server.Faults.Injected);
    }

    [Fact]
    public async Task FailNext_500_OverHttp_FailsOnlyTheMatchingMethod()
    {
        Assert.Equal(HttpStatusCode.NoContent, (await _http.PostAsync("/localkube/faults/fail?count=1&code=500&method=POST", null)).StatusCode);

        var read = await _http.GetAsync("/api/v1/namespaces");
        var write = await _http.PostAsync("/api/v1/namespaces", new StringContent("""{"metadata":{"name":"x"}}""", System.Text.Encoding.UTF8, "application/json"));
        var retried = await _http.PostAsync("/api/v1/namespaces", new StringContent("""{"metadata":{"name":"x"}}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, write.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
    }

    [Fact]
    public async Task FailNext_409_MatchesAPathOfSeveralSegments_AndABodyText_AndClearDropsWhatIsLeft()
    {
        foreach (var name in new[] { "a", "ab" })
        {
            Assert.Equal(HttpStatusCode.Created, (await _http.PostAsync("/api/v1/namespaces/default/configmaps", Json("""{"metadata":{"name":"NAME"}}""".Replace("NAME", name, StringComparison.Ordinal)))).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _http.PostAsync("/localkube/faults/fail?count=3&code=409&method=PATCH&resource=configmaps/a&body=wanted", null)).StatusCode);

        var otherObject = await PatchAsync("ab", "wanted");
        var otherBody = await PatchAsync("a", "other");
        var conflict = await PatchAsync("a", "wanted");
        Assert.Equal(HttpStatusCode.NoContent, (await _http.PostAsync("/localkube/faults/clear", null)).StatusCode);
        var cleared = await PatchAsync("a", "wanted");

        Assert.Equal(HttpStatusCode.OK, otherObject.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherBody.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("\"reason\":\"Conflict\"", await conflict.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.Contains("\"k\":\"wanted\"", await cleared.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, _server.Faults.Injected);

        Task<HttpResponseMessage> PatchAsync(string name, string value) => _http.PatchAsync($"/api/v1/namespaces/default/configmaps/{name}", new StringContent("""{"data":{"k":"VALUE"}}""".Replace("VALUE", value, StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/merge-patch+json"));
        static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
    }

    [Fact]
    public async Task Latency_DelaysApiRequests()
    {
        _server.Faults.Latency = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();

        await _http.GetAsync("/api/v1/namespaces");

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"took {clock.Elapsed}");
    }
}
