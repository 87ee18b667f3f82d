using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.LocalKube.Tests;

public sealed class RbacTests : IAsyncLifetime
{
    private LocalKubeServer _server = null!;
    private Kubernetes _admin = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalKubeServer.StartAsync(new ServerOptions { Rbac = true });
        _admin = Client(_server.Security.AdminToken!);
        await _admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new() { Name = "operator" } }, "default");
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Request_WithoutOrWithAnUnknownToken_Is401()
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == _server.Certificate!.Thumbprint };
        using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = _server.Url };
        var anonymous = await http.GetAsync("/api/v1/namespaces");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "made-up");
        var unknown = await http.GetAsync("/api");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        http.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task ServiceAccount_WithoutBindings_IsForbiddenWithTheRealMessage()
    {
        using var sa = Client(await TokenFor("operator"));

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoreV1.ListNamespacedPodAsync("default"));

        Assert.Equal(HttpStatusCode.Forbidden, error.Response.StatusCode);
        Assert.Equal(
            "pods is forbidden: User \"system:serviceaccount:default:operator\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            (string?)JsonNode.Parse(error.Response.Content)!["message"]);
        Assert.NotNull(await sa.CoreV1.GetAPIResourcesAsync());
    }

    [Fact]
    public async Task RoleBinding_GrantsItsVerbsInItsNamespaceOnly()
    {
        await _admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new() { Name = "read-configmaps" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["get", "list", "watch"] }],
        }, "default");
        await _admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new() { Name = "operator-reads" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "read-configmaps" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "operator", NamespaceProperty = "default" }],
        }, "default");
        using var sa = Client(await TokenFor("operator"));

        await sa.CoreV1.ListNamespacedConfigMapAsync("default");
        var otherNamespace = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoreV1.ListNamespacedConfigMapAsync("kube-system"));
        var otherVerb = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "x" } }, "default"));

        Assert.Equal(HttpStatusCode.Forbidden, otherNamespace.Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherVerb.Response.StatusCode);
    }

    [Fact]
    public async Task ClusterRole_SubresourceAndResourceNames_AreHonoured()
    {
        await _admin.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new() { Name = "lease-status" },
            Rules =
            [
                new V1PolicyRule { ApiGroups = [""], Resources = ["nodes/status"], Verbs = ["patch"] },
                new V1PolicyRule { ApiGroups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = ["get", "update"], ResourceNames = ["depin-1"] },
            ],
        });
        await _admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new() { Name = "operator-lease-status" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "lease-status" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "operator", NamespaceProperty = "default" }],
        });
        await _admin.CoreV1.CreateNodeAsync(new V1Node { Metadata = new() { Name = "depin-1" } });
        await _admin.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new() { Name = "depin-1" } }, "kube-node-lease");
        await _admin.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new() { Name = "depin-2" } }, "kube-node-lease");
        using var sa = Client(await TokenFor("operator"));
        var patch = new V1Patch("""{"status":{"phase":"Running"}}""", V1Patch.PatchType.MergePatch);

        await sa.CoreV1.PatchNodeStatusAsync(patch, "depin-1");
        await sa.CoordinationV1.ReadNamespacedLeaseAsync("depin-1", "kube-node-lease");
        var mainResource = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoreV1.PatchNodeAsync(patch, "depin-1"));
        var otherName = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoordinationV1.ReadNamespacedLeaseAsync("depin-2", "kube-node-lease"));
        var listByName = await Assert.ThrowsAsync<HttpOperationException>(() => sa.CoordinationV1.ListNamespacedLeaseAsync("kube-node-lease"));

        Assert.Equal(HttpStatusCode.Forbidden, mainResource.Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherName.Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, listByName.Response.StatusCode);
    }

    [KubectlFact]
    public async Task Kubectl_WithTheAdminKubeconfig_Works()
    {
        var path = Path.Combine(Path.GetTempPath(), $"localkube-rbac-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(path, _server.Kubeconfig());
        try
        {
            var (exit, output, error) = await Kubectl.RunAsync(path, null, "get", "namespaces");
            Assert.True(exit == 0, error);
            Assert.Contains("kube-node-lease", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async Task<string> TokenFor(string serviceAccount) =>
        (await _admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec() }, serviceAccount, "default")).Status.Token;

    private Kubernetes Client(string token) => new(new KubernetesClientConfiguration
    {
        Host = _server.Url.ToString(),
        AccessToken = token,
        SslCaCerts = [X509CertificateLoader.LoadCertificate(_server.Certificate!.RawData)],
    });
}
