using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.Runtime.Informers;

/// <summary>One page of a list.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Items">The objects.</param>
/// <param name="ResourceVersion">resourceVersion of the list.</param>
/// <param name="Continue">Token of the next page, or null.</param>
public sealed record ListPage<T>(IReadOnlyList<T> Items, string ResourceVersion, string? Continue);

/// <summary>A change read from a watch.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Type">ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.</param>
/// <param name="Item">The object, for ADDED, MODIFIED and DELETED.</param>
/// <param name="ResourceVersion">resourceVersion the event carries.</param>
/// <param name="Error">The Status, for ERROR.</param>
public sealed record WatchEvent<T>(string Type, T? Item, string? ResourceVersion, V1Status? Error);

/// <summary>List and watch of one resource type across all namespaces, through KubernetesClient.</summary>
/// <typeparam name="T">The object type.</typeparam>
public interface IResourceApi<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Lists a page.</summary>
    /// <param name="continueToken">Token of the page, or null for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    Task<ListPage<T>> ListAsync(string? continueToken, CancellationToken cancellationToken);

    /// <summary>Watches from a resourceVersion, with bookmarks, until the server ends the stream.</summary>
    /// <param name="resourceVersion">Where to start.</param>
    /// <param name="timeout">Asks the server to end the stream after this long.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Patches an object, or its status subresource.</summary>
    /// <param name="ns">Namespace, or null for a cluster-scoped object.</param>
    /// <param name="name">Name.</param>
    /// <param name="patch">The patch.</param>
    /// <param name="status">True to patch the status subresource.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The object as stored.</returns>
    Task<T> PatchAsync(string? ns, string name, V1Patch patch, bool status, CancellationToken cancellationToken);
}

/// <summary>Ways to reach resource types.</summary>
public static class ResourceApi
{
    /// <summary>Page size of lists.</summary>
    public const int PageSize = 500;

    /// <summary>A custom resource type, found from its <see cref="KubernetesEntityAttribute"/>.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="client">The client.</param>
    /// <returns>The API.</returns>
    public static IResourceApi<T> Custom<T>(IKubernetes client)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var entity = typeof(T).GetCustomAttributes(typeof(KubernetesEntityAttribute), false).Cast<KubernetesEntityAttribute>().Single();
        return new CallApi<T>(
            (cont, ct) => client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(entity.Group, entity.ApiVersion, entity.PluralName, continueParameter: cont, limit: PageSize, cancellationToken: ct),
            (rv, timeout, onError, ct) => client.CustomObjects.WatchListClusterCustomObjectAsync(entity.Group, entity.ApiVersion, entity.PluralName,
                allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
            async (ns, name, patch, status, ct) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize((ns, status) switch
            {
                (null, false) => await client.CustomObjects.PatchClusterCustomObjectAsync(patch, entity.Group, entity.ApiVersion, entity.PluralName, name, cancellationToken: ct).ConfigureAwait(false),
                (null, true) => await client.CustomObjects.PatchClusterCustomObjectStatusAsync(patch, entity.Group, entity.ApiVersion, entity.PluralName, name, cancellationToken: ct).ConfigureAwait(false),
                (_, false) => await client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, entity.Group, entity.ApiVersion, ns, entity.PluralName, name, cancellationToken: ct).ConfigureAwait(false),
                (_, true) => await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(patch, entity.Group, entity.ApiVersion, ns, entity.PluralName, name, cancellationToken: ct).ConfigureAwait(false),
            })));
    }

    /// <summary>A built-in type through its generated list and watch calls.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <typeparam name="TList">Its list type.</typeparam>
    /// <param name="list">Lists a page: continue token, cancellation.</param>
    /// <param name="watch">Watches with bookmarks: resourceVersion, timeout in seconds, error callback, cancellation.</param>
    /// <param name="patch">Patches: namespace, name, patch, status subresource or not, cancellation.</param>
    /// <returns>The API.</returns>
    public static IResourceApi<T> Typed<T, TList>(
        Func<string?, CancellationToken, Task<HttpOperationResponse<TList>>> list,
        Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<string?, string, V1Patch, bool, CancellationToken, Task<T>> patch)
        where T : IKubernetesObject<V1ObjectMeta>
        => new CallApi<T>(
            async (cont, ct) =>
            {
                var response = await list(cont, ct).ConfigureAwait(false);
                return new HttpOperationResponse<object> { Request = response.Request, Response = response.Response, Body = response.Body! };
            },
            (rv, timeout, onError, ct) => Box(watch(rv, timeout, onError, ct)),
            patch);

    private static async IAsyncEnumerable<(WatchEventType, object)> Box<T>(IAsyncEnumerable<(WatchEventType, T)> source)
    {
        await foreach (var (type, item) in source.ConfigureAwait(false))
        {
            yield return (type, item!);
        }
    }

    /// <summary>Pods of all namespaces.</summary>
    /// <param name="client">The client.</param>
    /// <param name="labelSelector">Only the pods this label selector matches, or null for all.</param>
    /// <returns>The API.</returns>
    public static IResourceApi<V1Pod> Pods(IKubernetes client, string? labelSelector = null) => Typed<V1Pod, V1PodList>(
        (cont, ct) => client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(continueParameter: cont, labelSelector: labelSelector, limit: PageSize, cancellationToken: ct),
        (rv, timeout, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
        (ns, name, patch, status, ct) => status
            ? client.CoreV1.PatchNamespacedPodStatusAsync(patch, name, ns, cancellationToken: ct)
            : client.CoreV1.PatchNamespacedPodAsync(patch, name, ns, cancellationToken: ct));

    /// <summary>ConfigMaps of all namespaces.</summary>
    /// <param name="client">The client.</param>
    /// <returns>The API.</returns>
    public static IResourceApi<V1ConfigMap> ConfigMaps(IKubernetes client) => Typed<V1ConfigMap, V1ConfigMapList>(
        (cont, ct) => client.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(continueParameter: cont, limit: PageSize, cancellationToken: ct),
        (rv, timeout, onError, ct) => client.CoreV1.WatchListConfigMapForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
        (ns, name, patch, _, ct) => client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, ns, cancellationToken: ct));

    /// <summary>Nodes.</summary>
    /// <param name="client">The client.</param>
    /// <param name="labelSelector">Only the nodes this label selector matches, or null for all.</param>
    /// <returns>The API.</returns>
    public static IResourceApi<V1Node> Nodes(IKubernetes client, string? labelSelector = null) => Typed<V1Node, V1NodeList>(
        (cont, ct) => client.CoreV1.ListNodeWithHttpMessagesAsync(continueParameter: cont, labelSelector: labelSelector, limit: PageSize, cancellationToken: ct),
        (rv, timeout, onError, ct) => client.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
        (_, name, patch, status, ct) => status
            ? client.CoreV1.PatchNodeStatusAsync(patch, name, cancellationToken: ct)
            : client.CoreV1.PatchNodeAsync(patch, name, cancellationToken: ct));

    private sealed class CallApi<T>(
        Func<string?, CancellationToken, Task<HttpOperationResponse<object>>> list,
        Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, object)>> watch,
        Func<string?, string, V1Patch, bool, CancellationToken, Task<T>> patch) : IResourceApi<T>
        where T : IKubernetesObject<V1ObjectMeta>
    {
        public Task<T> PatchAsync(string? ns, string name, V1Patch body, bool status, CancellationToken cancellationToken) =>
            patch(ns, name, body, status, cancellationToken);

        public async Task<ListPage<T>> ListAsync(string? continueToken, CancellationToken cancellationToken)
        {
            using var response = await list(continueToken, cancellationToken).ConfigureAwait(false);
            var text = response.Body is JsonElement element ? element.GetRawText() : KubernetesJson.Serialize(response.Body);
            var page = KubernetesJson.Deserialize<ObjectList>(text);
            return new ListPage<T>(page.Items ?? [], page.Metadata?.ResourceVersion ?? "", string.IsNullOrEmpty(page.Metadata?.ContinueProperty) ? null : page.Metadata.ContinueProperty);
        }

        public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, TimeSpan timeout, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Exception? failure = null;
            await foreach (var (type, item) in watch(resourceVersion, (int)timeout.TotalSeconds, e => failure ??= e, cancellationToken).ConfigureAwait(false))
            {
                yield return (type, item) switch
                {
                    // Custom resources arrive as raw JSON, so errors keep their status code.
                    (WatchEventType.Error, JsonElement raw) => new WatchEvent<T>("ERROR", default, null, KubernetesJson.Deserialize<V1Status>(raw.GetRawText())),
                    (WatchEventType.Error, _) => new WatchEvent<T>("ERROR", default, null, null),
                    (WatchEventType.Bookmark, JsonElement raw) => new WatchEvent<T>("BOOKMARK", default, raw.GetProperty("metadata").GetProperty("resourceVersion").GetString(), null),
                    (WatchEventType.Bookmark, T typed) => new WatchEvent<T>("BOOKMARK", default, typed.Metadata?.ResourceVersion, null),
                    (_, JsonElement raw) => Change(type.ToString().ToUpperInvariant(), KubernetesJson.Deserialize<T>(raw.GetRawText())),
                    (_, T typed) => Change(type.ToString().ToUpperInvariant(), typed),
                    _ => throw new InvalidOperationException($"unexpected watch item {item?.GetType()}"),
                };
            }

            if (failure is KubernetesException { Status: { } status })
            {
                // The client reports an ERROR event (410 Expired above all) through its error callback.
                yield return new WatchEvent<T>("ERROR", default, null, status);
            }
            else if (failure is not null && !cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"watch failed: {failure.Message}", failure);
            }
        }

        private static WatchEvent<T> Change(string type, T obj) => new(type, obj, obj.Metadata?.ResourceVersion, null);

        private sealed class ObjectList
        {
            public V1ListMeta? Metadata { get; set; }

            public List<T>? Items { get; set; }
        }
    }
}
