using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using DePin.Testing;
using k8s;

namespace DePin.LocalKube.Tests;

/// <summary>A LocalKube server on a free loopback port with the project's CRDs installed, and clients for it.</summary>
public sealed class LocalKubeFixture : IAsyncLifetime
{
    private LocalKubeServer? _server;

    public LocalKubeServer Server => _server ?? throw new InvalidOperationException("not started");

    public Kubernetes Client { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string KubeconfigPath { get; } = Path.Combine(Path.GetTempPath(), $"localkube-{Guid.NewGuid():N}.kubeconfig");

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync(new ServerOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        await File.WriteAllTextAsync(KubeconfigPath, Server.Kubeconfig());
        Client = new Kubernetes(new KubernetesClientConfiguration { Host = Server.Url.ToString() });
        Http = new HttpClient { BaseAddress = Server.Url, Timeout = TimeSpan.FromSeconds(30) };
        await ProjectCrds.InstallAsync(Client);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Client.Dispose();
        await Server.DisposeAsync();
        File.Delete(KubeconfigPath);
    }

    /// <summary>Sends a request with a JSON body and returns the status code and the parsed body.</summary>
    public async Task<(int Code, JsonNode? Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A valid DePinDeployment from the web-service example, as JSON, under another name.</summary>
    public static JsonObject WebService(string name)
    {
        var obj = YamlJson.Parse(File.ReadAllText(RepositoryPaths.Of("crds", "examples", "web-service.yaml")))!.AsObject();
        obj["metadata"]!["name"] = name;
        return obj;
    }
}

[CollectionDefinition(Name)]
public sealed class LocalKubeGroup : ICollectionFixture<LocalKubeFixture>
{
    public const string Name = "localkube";
}
