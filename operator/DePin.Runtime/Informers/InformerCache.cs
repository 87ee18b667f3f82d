using k8s;
using k8s.Models;

namespace DePin.Runtime.Informers;

/// <summary>
/// The objects an informer has seen, by key (<c>namespace/name</c>, or the name of a cluster-scoped
/// object), with indexes. Readers get the informer's objects: treat them as read-only.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
public sealed class InformerCache<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Index of objects by namespace.</summary>
    public const string NamespaceIndex = "namespace";

    /// <summary>Index of objects by the uid of each owner.</summary>
    public const string OwnerIndex = "owner";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<T, IEnumerable<string>>> _indexers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, HashSet<string>>> _indices = new(StringComparer.Ordinal);

    /// <summary>Creates a cache with the namespace and owner indexes.</summary>
    public InformerCache()
    {
        AddIndex(NamespaceIndex, o => [o.Metadata.NamespaceProperty ?? ""]);
        AddIndex(OwnerIndex, o => o.Metadata.OwnerReferences?.Select(r => r.Uid) ?? []);
    }

    /// <summary>Objects in the cache.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Adds an index, for example pods by <c>spec.nodeName</c>. Objects already cached are indexed at once.</summary>
    /// <param name="name">Name of the index.</param>
    /// <param name="values">The index values of an object.</param>
    public void AddIndex(string name, Func<T, IEnumerable<string>> values)
    {
        lock (_lock)
        {
            _indexers[name] = values;
            _indices[name] = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var (key, item) in _items)
            {
                Index(name, key, item, add: true);
            }
        }
    }

    /// <summary>An object by key, or null.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The object, or null.</returns>
    public T? Get(string key)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault(key);
        }
    }

    /// <summary>Every object.</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<T> List()
    {
        lock (_lock)
        {
            return [.. _items.Values];
        }
    }

    /// <summary>The objects whose index values include a value.</summary>
    /// <param name="index">Name of the index.</param>
    /// <param name="value">The value.</param>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<T> ByIndex(string index, string value)
    {
        lock (_lock)
        {
            if (!_indices.TryGetValue(index, out var values))
            {
                throw new ArgumentException($"no index named {index}", nameof(index));
            }

            return values.TryGetValue(value, out var keys) ? [.. keys.Select(k => _items[k])] : [];
        }
    }

    /// <summary>Stores an object.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>The object it replaced, or null.</returns>
    internal T? Upsert(T obj)
    {
        var key = ObjectKey.Of(obj);
        lock (_lock)
        {
            var old = _items.GetValueOrDefault(key);
            if (old is not null)
            {
                IndexAll(key, old, add: false);
            }

            _items[key] = obj;
            IndexAll(key, obj, add: true);
            return old;
        }
    }

    /// <summary>Removes an object.</summary>
    /// <param name="key">Its key.</param>
    /// <returns>The object removed, or null.</returns>
    internal T? Remove(string key)
    {
        lock (_lock)
        {
            if (!_items.Remove(key, out var old))
            {
                return default;
            }

            IndexAll(key, old, add: false);
            return old;
        }
    }

    /// <summary>Replaces the whole content with a fresh list.</summary>
    /// <param name="items">The listed objects.</param>
    /// <returns>What changed: objects added, updated (with the old one) and deleted.</returns>
    internal (List<T> Added, List<(T Old, T New)> Updated, List<T> Deleted) Replace(IReadOnlyList<T> items)
    {
        lock (_lock)
        {
            var added = new List<T>();
            var updated = new List<(T, T)>();
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                var key = ObjectKey.Of(item);
                fresh.Add(key);
                var old = _items.GetValueOrDefault(key);
                if (old is null)
                {
                    added.Add(item);
                }
                else if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
                {
                    updated.Add((old, item));
                }
                else
                {
                    continue;
                }

                if (old is not null)
                {
                    IndexAll(key, old, add: false);
                }

                _items[key] = item;
                IndexAll(key, item, add: true);
            }

            var deleted = _items.Where(kv => !fresh.Contains(kv.Key)).ToList();
            foreach (var (key, item) in deleted)
            {
                _items.Remove(key);
                IndexAll(key, item, add: false);
            }

            return (added, updated, [.. deleted.Select(d => d.Value)]);
        }
    }

    private void IndexAll(string key, T item, bool add)
    {
        foreach (var name in _indexers.Keys)
        {
            Index(name, key, item, add);
        }
    }

    private void Index(string name, string key, T item, bool add)
    {
        var index = _indices[name];
        foreach (var value in _indexers[name](item))
        {
            if (add)
            {
                if (!index.TryGetValue(value, out var keys))
                {
                    keys = new HashSet<string>(StringComparer.Ordinal);
                    index[value] = keys;
                }

                keys.Add(key);
            }
            else if (index.TryGetValue(value, out var keys))
            {
                keys.Remove(key);
                if (keys.Count == 0)
                {
                    index.Remove(value);
                }
            }
        }
    }
}

/// <summary>Keys of objects in caches and work queues.</summary>
public static class ObjectKey
{
    /// <summary>The key of an object.</summary>
    /// <param name="obj">The object.</param>
    /// <returns><c>namespace/name</c>, or the name of a cluster-scoped object.</returns>
    public static string Of(IKubernetesObject<V1ObjectMeta> obj) => Of(obj.Metadata.NamespaceProperty, obj.Metadata.Name);

    /// <summary>The key of an object.</summary>
    /// <param name="ns">Namespace, or null.</param>
    /// <param name="name">Name.</param>
    /// <returns><c>namespace/name</c>, or the name of a cluster-scoped object.</returns>
    public static string Of(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    /// <summary>Splits a key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Namespace (null for cluster-scoped) and name.</returns>
    public static (string? Namespace, string Name) Split(string key) =>
        key.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? (key[..at], key[(at + 1)..]) : (null, key);
}
