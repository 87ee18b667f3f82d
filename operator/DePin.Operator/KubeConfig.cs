using k8s;
using k8s.Exceptions;

namespace DePin.Operator;

internal static class KubeConfig
{
    /// <summary>
    /// The in-cluster service account when running in a pod, else the kubeconfig file (KUBECONFIG or
    /// ~/.kube/config). A kubeconfig user without credentials (a local development server that allows
    /// anonymous access) is accepted as anonymous access to its cluster's server.
    /// </summary>
    public static KubernetesClientConfiguration Load()
    {
        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var path = Environment.GetEnvironmentVariable("KUBECONFIG");
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        catch (KubeConfigException e) when (e.Message.Contains("does not have appropriate auth credentials", StringComparison.Ordinal))
        {
            var file = KubernetesClientConfiguration.LoadKubeConfig(path);
            var context = file.Contexts.First(c => c.Name == file.CurrentContext);
            var cluster = file.Clusters.First(c => c.Name == context.ContextDetails.Cluster);
            return new KubernetesClientConfiguration
            {
                Host = cluster.ClusterEndpoint.Server,
                Namespace = context.ContextDetails.Namespace,
                SkipTlsVerify = cluster.ClusterEndpoint.SkipTlsVerify,
            };
        }
    }
}
