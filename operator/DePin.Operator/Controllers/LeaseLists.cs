using System.Text.Json;
using DePin.Api;
using DePin.Api.V1Alpha1;
using DePin.Operator.Deployments;
using k8s;

namespace DePin.Operator.Controllers;

/// <summary>Reads a deployment's DePinLeases from the API server itself, for decisions a cache that lags must not make.</summary>
internal static class LeaseLists
{
    /// <summary>The DePinLeases of a deployment, as the API server has them now.</summary>
    public static async Task<IReadOnlyList<DePinLease>> OfDeploymentAsync(IKubernetes kubernetes, string ns, string deploymentUid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kubernetes);
        var listed = await kubernetes.CustomObjects.ListNamespacedCustomObjectAsync(DePinApi.Group, DePinApi.Version, ns, DePinLease.KubePluralName, labelSelector: $"{Names.DeploymentUidLabel}={deploymentUid}", cancellationToken: cancellationToken).ConfigureAwait(false);
        return KubernetesJson.Deserialize<LeaseList>(((JsonElement)listed).GetRawText()).Items ?? [];
    }

    private sealed class LeaseList
    {
        public List<DePinLease>? Items { get; set; }
    }
}
