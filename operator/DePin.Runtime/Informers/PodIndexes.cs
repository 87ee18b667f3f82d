using k8s.Models;

namespace DePin.Runtime.Informers;

/// <summary>Indexes of pod caches.</summary>
public static class PodIndexes
{
    /// <summary>Index of pods by <c>spec.nodeName</c> (unbound pods under the empty string).</summary>
    public const string NodeName = "spec.nodeName";

    /// <summary>Adds the <see cref="NodeName"/> index.</summary>
    /// <param name="cache">A pod cache.</param>
    /// <returns>The cache.</returns>
    public static InformerCache<V1Pod> AddNodeNameIndex(this InformerCache<V1Pod> cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        cache.AddIndex(NodeName, pod => [pod.Spec?.NodeName ?? ""]);
        return cache;
    }
}
