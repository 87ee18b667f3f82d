using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>Bad requests get a 4xx that says what was wrong, never a 5xx, and the agent keeps serving.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private readonly AgentDirectory _directory = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        _agent = await AgentProcess.StartAsync(_directory.Data, extra: ["--max-body-bytes", "65536"]);
        await _agent.CreateLeaseAsync("bad", replicas: 1, cpuMillis: 500, memoryMiB: 256);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _directory.Dispose();
    }

    public static TheoryData<string, string, string, HttpStatusCode, string> Cases => new()
    {
        { "POST", "v1/leases/bad/pods", "{\"metadata\": {", HttpStatusCode.BadRequest, "malformed JSON" },
        { "POST", "v1/leases/bad/pods", "[1, 2]", HttpStatusCode.BadRequest, "malformed JSON" },
        { "POST", "v1/leases/bad/pods", "", HttpStatusCode.BadRequest, "" },
        { "POST", "v1/leases/bad/pods", Pod("../etc"), HttpStatusCode.BadRequest, "must be a DNS label" },
        { "POST", "v1/leases/bad/pods", Pod("a/b"), HttpStatusCode.BadRequest, "must be a DNS label" },
        { "GET", "v1/leases/bad/pods/..%2F..%2Fetc%2Fpasswd", "", HttpStatusCode.BadRequest, "must be a DNS label" },
        { "GET", "v1/leases/..%2Fx/pods", "", HttpStatusCode.BadRequest, "lease id" },
        { "POST", "v1/leases/bad/pods", Pod("neg", cpu: "-1"), HttpStatusCode.BadRequest, "resources.requests.cpu is negative" },
        { "POST", "v1/leases/bad/pods", Pod("neg", memory: "-5Mi"), HttpStatusCode.BadRequest, "resources.requests.memory is negative" },
        { "POST", "v1/leases/bad/pods", Pod("big", cpu: "2"), HttpStatusCode.UnprocessableEntity, "would need 2000m CPU; lease bad has 500m" },
        { "POST", "v1/leases/bad/pods", Pod("nocommand", command: false), HttpStatusCode.BadRequest, "has no command" },
        { "POST", "v1/leases/bad/pods", Pod("secret", secretEnv: true), HttpStatusCode.BadRequest, "valueFrom is not accepted" },
        { "PUT", "v1/leases/bad/pods/renamed", Pod("other-name"), HttpStatusCode.BadRequest, "differs from the name in the path" },
        { "POST", "v1/leases/missing/pods", Pod("p"), HttpStatusCode.NotFound, "lease missing is not served" },
        { "GET", "v1/leases/bad/pods/nothing", "", HttpStatusCode.NotFound, "pod nothing does not exist" },
        { "GET", "v1/leases/bad/pods/nothing/logs?tailLines=-3", "", HttpStatusCode.NotFound, "" },
        { "POST", "v1/leases", "{\"id\":\"huge\",\"replicas\":1,\"resources\":{\"cpuMillis\":9999999,\"memoryMiB\":1}}", HttpStatusCode.Conflict, "the host cannot take lease huge" },
        { "POST", "v1/leases", "{\"id\":\"neg\",\"replicas\":1,\"resources\":{\"cpuMillis\":-1,\"memoryMiB\":1}}", HttpStatusCode.BadRequest, "cpuMillis must be a whole number" },
        { "POST", "v1/quotes", "{\"replicas\":1}", HttpStatusCode.BadRequest, "resources is required" },
        { "GET", "healthz?nonce=%3Cscript%3E", "", HttpStatusCode.BadRequest, "nonce must be" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequests_Get4xxWithAMessage(string method, string path, string body, HttpStatusCode expected, string message)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0 || method is "POST")
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await _agent.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(expected, response.StatusCode);
        Assert.InRange((int)response.StatusCode, 400, 499);
        var error = JsonNode.Parse(text)!;
        Assert.Equal((int)response.StatusCode, error["code"]!.GetValue<int>());
        Assert.Contains(message, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        using var health = await _agent.Http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task OversizedBodies_Get400()
    {
        using var content = new StringContent(new string(' ', 200_000) + Pod("p"), Encoding.UTF8, "application/json");
        using var response = await _agent.Http.PostAsync("v1/leases/bad/pods", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("65536", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingOrWrongBearerTokens_Get401()
    {
        using var anonymous = new HttpClient { BaseAddress = _agent.Http.BaseAddress };
        using var missing = await anonymous.GetAsync("v1/leases/bad/pods");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Contains("missing bearer token", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-0123456789");
        using var wrong = await anonymous.GetAsync("v1/leases/bad/pods");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("bearer token is wrong", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static string Pod(string name, string cpu = "100m", string memory = "64Mi", bool command = true, bool secretEnv = false)
    {
        var container = new JsonObject
        {
            ["name"] = "c",
            ["image"] = "x",
            ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = cpu, ["memory"] = memory } },
        };
        if (command)
        {
            container["command"] = new JsonArray("sleep", "60");
        }

        if (secretEnv)
        {
            container["env"] = new JsonArray(new JsonObject { ["name"] = "S", ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "s", ["key"] = "k" } } });
        }

        return new JsonObject { ["metadata"] = new JsonObject { ["name"] = name }, ["spec"] = new JsonObject { ["containers"] = new JsonArray(container) } }.ToJsonString();
    }
}
