using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.Operator;

/// <summary>Small operations on cluster objects that the controllers share.</summary>
internal static class ClusterObjects
{
    /// <summary>A time as the API returns it (kind unspecified, meant as UTC).</summary>
    public static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    /// <summary>A deep copy, to build a new status from the cached one without changing the cache.</summary>
    public static T Copy<T>(T value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));

    /// <summary>
    /// Deletes this pod (not a newer one of the same name), gracefully unless a grace period is given;
    /// a pod already gone is not an error.
    /// </summary>
    public static async Task DeletePodAsync(IKubernetes kubernetes, V1Pod pod, long? gracePeriodSeconds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kubernetes);
        ArgumentNullException.ThrowIfNull(pod);
        try
        {
            await kubernetes.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, new V1DeleteOptions { GracePeriodSeconds = gracePeriodSeconds, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone already, or a newer pod of the same name: nothing of this one to delete.
        }
    }
}
