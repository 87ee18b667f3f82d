using System.Text.Json.Nodes;
using DePin.Runtime.Informers;
using k8s;
using k8s.Models;

namespace DePin.Runtime.Controllers;

/// <summary>
/// Writes status through the status subresource, and only when it changed: the patch is the merge
/// diff between the status read and the status wanted, and it names the resourceVersion read, so a
/// concurrent write turns into a 409 that the controller retries quietly.
/// </summary>
/// <typeparam name="T">The resource type.</typeparam>
/// <param name="api">Where the status is patched.</param>
public sealed class StatusWriter<T>(IResourceApi<T> api)
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Writes a status if it differs from the resource's.</summary>
    /// <param name="resource">The resource as read (its status is the baseline; it is not changed).</param>
    /// <param name="status">The status wanted.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored resource after the write, or null when nothing needed writing.</returns>
    public async Task<T?> WriteAsync(T resource, object? status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var before = JsonNode.Parse(KubernetesJson.Serialize(resource))?["status"];
        var after = status is null ? null : JsonNode.Parse(KubernetesJson.Serialize(status));
        if (JsonNode.DeepEquals(before, after))
        {
            return default;
        }

        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = resource.Metadata.ResourceVersion },
            ["status"] = MergePatch.Diff(before, after),
        };
        return await api.PatchAsync(resource.Metadata.NamespaceProperty, resource.Metadata.Name, new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), status: true, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>JSON merge patches (RFC 7386).</summary>
public static class MergePatch
{
    /// <summary>The JSON merge patch (RFC 7386) that turns one document into another.</summary>
    /// <param name="from">The document now.</param>
    /// <param name="to">The document wanted.</param>
    /// <returns>The patch.</returns>
    public static JsonNode? Diff(JsonNode? from, JsonNode? to)
    {
        if (from is not JsonObject source || to is not JsonObject target)
        {
            return to?.DeepClone();
        }

        var diff = new JsonObject();
        foreach (var (key, value) in target)
        {
            if (!source.TryGetPropertyValue(key, out var old) || !JsonNode.DeepEquals(old, value))
            {
                diff[key] = Diff(old, value);
            }
        }

        foreach (var (key, _) in source)
        {
            if (!target.ContainsKey(key))
            {
                diff[key] = null;
            }
        }

        return diff;
    }
}
