using k8s;
using k8s.Models;

namespace DePin.Testing;

/// <summary>The CRDs generated into crds/, as tests install them.</summary>
public static class ProjectCrds
{
    /// <summary>Creates every CRD of crds/ through a client.</summary>
    /// <param name="client">A client of the cluster.</param>
    /// <returns>A task that completes when all are created.</returns>
    public static async Task InstallAsync(IKubernetes client)
    {
        foreach (var file in Directory.GetFiles(RepositoryPaths.Of("crds"), "*.yaml"))
        {
            var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(file).ConfigureAwait(false));
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd).ConfigureAwait(false);
        }
    }
}
