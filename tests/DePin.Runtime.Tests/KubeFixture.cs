using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using DePin.Testing;
using k8s;
using k8s.Models;

namespace DePin.Runtime.Tests;

/// <summary>A LocalKube server with the project's CRDs, one per test class that needs it.</summary>
public sealed class KubeFixture : IAsyncLifetime
{
    public LocalKubeServer Server { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await LocalKubeServer.StartAsync(new ServerOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Client = new Kubernetes(new KubernetesClientConfiguration { Host = Server.Url.ToString() });
        await ProjectCrds.InstallAsync(Client);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    public static DePinLease Lease(string name, string ns = "default") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new DePinLeaseSpec
        {
            Deployment = "web",
            Marketplace = "static",
            LeaseId = name,
            OrderId = "order-1",
            PricePerHour = "0.05",
            Provider = new ProviderInfo { Id = "provider-a", Endpoint = "http://127.0.0.1:1" },
        },
    };

    public async Task<DePinLease> CreateAsync(DePinLease lease) =>
        KubernetesJson.Deserialize<DePinLease>(KubernetesJson.Serialize(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(lease, "depin.dev", "v1alpha1", lease.Metadata.NamespaceProperty, "depinleases")));

    public async Task<DePinLease> ReplaceAsync(DePinLease lease) =>
        KubernetesJson.Deserialize<DePinLease>(KubernetesJson.Serialize(await Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(lease, "depin.dev", "v1alpha1", lease.Metadata.NamespaceProperty, "depinleases", lease.Metadata.Name)));

    public async Task<string> DeleteAsync(DePinLease lease)
    {
        var deleted = await Client.CustomObjects.DeleteNamespacedCustomObjectAsync("depin.dev", "v1alpha1", lease.Metadata.NamespaceProperty, "depinleases", lease.Metadata.Name);
        return KubernetesJson.Deserialize<DePinLease>(KubernetesJson.Serialize(deleted)).Metadata.ResourceVersion;
    }

    public async Task<IReadOnlyList<DePinLease>> ListAsync()
    {
        var list = await Client.CustomObjects.ListClusterCustomObjectAsync("depin.dev", "v1alpha1", "depinleases");
        return KubernetesJson.Deserialize<LeaseList>(KubernetesJson.Serialize(list)).Items;
    }

    private sealed class LeaseList
    {
        public List<DePinLease> Items { get; set; } = [];
    }
}
