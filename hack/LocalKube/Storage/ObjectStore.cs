using System.Globalization;
using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>How a delete treats the object's dependents.</summary>
public enum PropagationPolicy
{
    /// <summary>Delete the object now; the garbage collector deletes dependents afterwards.</summary>
    Background,

    /// <summary>Delete dependents first; the object goes once none is left.</summary>
    Foreground,

    /// <summary>Keep dependents and remove their owner references.</summary>
    Orphan,
}

/// <summary>A page of a list.</summary>
/// <param name="Items">The objects, ordered by namespace and name.</param>
/// <param name="ResourceVersion">resourceVersion of the list.</param>
/// <param name="Continue">Token for the next page, or null.</param>
/// <param name="RemainingItemCount">Objects after this page, when paged.</param>
public sealed record ListResult(IReadOnlyList<StoredObject> Items, long ResourceVersion, string? Continue, long? RemainingItemCount);

/// <summary>Tuning of the store.</summary>
public sealed class StoreOptions
{
    /// <summary>Changes kept for watches that resume from a resourceVersion; older ones get 410 Gone. Default 100,000.</summary>
    public int HistoryLimit { get; init; } = 100_000;
}

/// <summary>
/// The objects of the local control plane, in memory, with the semantics of the Kubernetes API server:
/// one global resourceVersion, optimistic concurrency, generation, status subresource, finalizers,
/// owner-reference garbage collection, namespace deletion, and watches that resume from a resourceVersion.
/// One lock serializes every change, which keeps ordering exact; this is a development tool.
/// </summary>
public sealed class ObjectStore
{
    private const string NamespaceFinalizer = "kubernetes";
    private const string CrdCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly IAdmission? _admission;
    private readonly StoreOptions _options;
    private readonly Dictionary<string, SortedDictionary<string, StoredObject>> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredObject> _byUid = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _dependents = new(StringComparer.Ordinal);
    private readonly List<StoreEvent> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly Queue<string> _garbage = new();
    private long _resourceVersion;
    private long _compactedThrough;

    /// <summary>Creates an empty store with the usual namespaces.</summary>
    /// <param name="registry">The resource types.</param>
    /// <param name="time">The clock for timestamps.</param>
    /// <param name="admission">Validation of objects, or null.</param>
    /// <param name="options">Tuning, or null for defaults.</param>
    public ObjectStore(ResourceRegistry registry, TimeProvider time, IAdmission? admission = null, StoreOptions? options = null)
    {
        Registry = registry;
        _time = time;
        _admission = admission;
        _options = options ?? new StoreOptions();
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            Create(registry.Namespaces, "", new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
        }
    }

    /// <summary>The resource types.</summary>
    public ResourceRegistry Registry { get; }

    /// <summary>The latest resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Number of open watches.</summary>
    public int WatchCount
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>Creates an object.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace from the URL, empty for cluster-scoped types.</param>
    /// <param name="obj">The object; the store takes ownership.</param>
    /// <param name="options">Options of the request, or null for an internal write.</param>
    /// <returns>The stored object.</returns>
    public StoredObject Create(ResourceType type, string ns, JsonObject obj, WriteOptions? options = null)
    {
        lock (_lock)
        {
            var metadata = obj["metadata"] as JsonObject ?? new JsonObject();
            obj["metadata"] = metadata;
            obj["apiVersion"] = type.ApiVersion;
            obj["kind"] = type.Kind;
            ns = CheckNamespace(type, ns, metadata);

            if (string.IsNullOrEmpty((string?)metadata["name"]) && metadata["generateName"] is JsonValue prefix)
            {
                metadata["name"] = (string)prefix! + RandomSuffix();
            }

            var name = (string?)metadata["name"];
            if (string.IsNullOrEmpty(name))
            {
                throw ApiException.Invalid(type, "", [new FieldError("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]);
            }

            if (type.Namespaced)
            {
                RequireLiveNamespace(ns);
            }

            if (Find(type, ns, name) is not null)
            {
                throw ApiException.AlreadyExists(type, name);
            }

            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = Timestamp();
            metadata["generation"] = 1;
            metadata.Remove("deletionTimestamp");
            metadata.Remove("deletionGracePeriodSeconds");
            metadata.Remove("resourceVersion");
            metadata.Remove("managedFields");
            if (type.HasStatusSubresource && type.DefinedBy is not null)
            {
                // Custom resources with a status subresource ignore status on create.
                obj.Remove("status");
            }

            if (type == Registry.Namespaces)
            {
                obj["spec"] = new JsonObject { ["finalizers"] = new JsonArray(NamespaceFinalizer) };
                obj["status"] = new JsonObject { ["phase"] = "Active" };
            }
            else if (type == Registry.Crds)
            {
                AddFinalizer(obj, CrdCleanupFinalizer);
            }

            _admission?.Admit(type, obj, null, options ?? WriteOptions.Internal);
            var stored = Commit(type, obj, null, "ADDED");
            if (type == Registry.Crds)
            {
                stored = Establish(stored);
            }

            if (stored.OwnerUids.Count > 0)
            {
                _garbage.Enqueue(stored.Uid);
            }

            CollectGarbage();
            return stored;
        }
    }

    /// <summary>Reads an object.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace, empty for cluster-scoped types.</param>
    /// <param name="name">Name.</param>
    /// <returns>The stored object.</returns>
    public StoredObject Get(ResourceType type, string ns, string name)
    {
        lock (_lock)
        {
            return Find(type, ns, name) ?? throw ApiException.NotFound(type, name);
        }
    }

    /// <summary>Reads an object, or null.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace, empty for cluster-scoped types.</param>
    /// <param name="name">Name.</param>
    /// <returns>The stored object, or null.</returns>
    public StoredObject? TryGet(ResourceType type, string ns, string name)
    {
        lock (_lock)
        {
            return Find(type, ns, name);
        }
    }

    /// <summary>Lists objects.</summary>
    /// <param name="type">Their type.</param>
    /// <param name="ns">A namespace, or null for all.</param>
    /// <param name="labels">Label selector.</param>
    /// <param name="fields">Field selector.</param>
    /// <param name="limit">Page size, 0 for all.</param>
    /// <param name="continueToken">Token from the previous page, or null.</param>
    /// <returns>The page.</returns>
    public ListResult List(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, int limit = 0, string? continueToken = null)
    {
        lock (_lock)
        {
            var after = continueToken is null ? null : DecodeContinue(continueToken);
            var items = new List<StoredObject>();
            long remaining = 0;
            if (_objects.TryGetValue(type.GroupResource, out var objects))
            {
                foreach (var (key, obj) in objects)
                {
                    if ((ns is not null && obj.Namespace != ns)
                        || (after is not null && string.CompareOrdinal(key, after) <= 0)
                        || (fields.Name is not null && obj.Name != fields.Name)
                        || !labels.Matches(obj.Node) || !fields.Matches(obj.Node))
                    {
                        continue;
                    }

                    if (limit > 0 && items.Count == limit)
                    {
                        remaining++;
                        continue;
                    }

                    items.Add(obj);
                }
            }

            var next = remaining > 0 ? EncodeContinue(items[^1].Key) : null;
            return new ListResult(items, _resourceVersion, next, remaining > 0 ? remaining : null);
        }
    }

    /// <summary>Replaces an object (PUT), or its status alone.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace, empty for cluster-scoped types.</param>
    /// <param name="name">Name from the URL.</param>
    /// <param name="obj">The new object; the store takes ownership.</param>
    /// <param name="statusOnly">True for the <c>/status</c> subresource.</param>
    /// <param name="options">Options of the request, or null for an internal write.</param>
    /// <returns>The stored object.</returns>
    public StoredObject Update(ResourceType type, string ns, string name, JsonObject obj, bool statusOnly = false, WriteOptions? options = null)
    {
        lock (_lock)
        {
            var existing = Find(type, ns, name) ?? throw ApiException.NotFound(type, name);
            var metadata = obj["metadata"] as JsonObject ?? throw ApiException.BadRequest("metadata is required");
            if ((string?)metadata["name"] is { } bodyName && bodyName != name)
            {
                throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
            }

            if ((string?)metadata["resourceVersion"] is { Length: > 0 } rv && rv != existing.ResourceVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw ApiException.Conflict(type, name);
            }

            JsonObject updated;
            if (statusOnly)
            {
                updated = existing.Copy();
                if (obj["status"] is { } status)
                {
                    updated["status"] = status.DeepClone();
                }
                else
                {
                    updated.Remove("status");
                }
            }
            else
            {
                updated = obj;
                CheckNamespace(type, ns, metadata);
                var old = existing.Node["metadata"]!.AsObject();
                foreach (var kept in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation" })
                {
                    metadata.Remove(kept);
                    if (old[kept] is { } value)
                    {
                        metadata[kept] = value.DeepClone();
                    }
                }

                metadata.Remove("managedFields");
                updated["apiVersion"] = type.ApiVersion;
                updated["kind"] = type.Kind;
                if (type.HasStatusSubresource)
                {
                    updated.Remove("status");
                    if (existing.Node["status"] is { } status)
                    {
                        updated["status"] = status.DeepClone();
                    }
                }

                if (existing.Terminating)
                {
                    var added = Finalizers(updated).Except(existing.Finalizers).ToList();
                    if (added.Count > 0)
                    {
                        throw ApiException.Invalid(type, name, [new FieldError("metadata.finalizers", "FieldValueForbidden", $"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [{string.Join(" ", added)}]")]);
                    }
                }
            }

            // Defaults first, so that a client that leaves out a defaulted field does not bump the generation.
            _admission?.Admit(type, updated, existing.Node, options ?? WriteOptions.Internal);
            if (!statusOnly && SpecChanged(existing.Node, updated))
            {
                updated["metadata"]!.AsObject()["generation"] = ((long?)existing.Node["metadata"]!["generation"] ?? 0) + 1;
            }

            return Replace(type, existing, updated);
        }
    }

    /// <summary>Changes an object with a function of its current state, as PATCH does; the change runs under the store's lock.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace, empty for cluster-scoped types.</param>
    /// <param name="name">Name.</param>
    /// <param name="change">Makes the new object from a copy of the current one.</param>
    /// <param name="statusOnly">True for the <c>/status</c> subresource.</param>
    /// <param name="options">Options of the request, or null for an internal write.</param>
    /// <returns>The stored object.</returns>
    public StoredObject Patch(ResourceType type, string ns, string name, Func<JsonObject, JsonObject> change, bool statusOnly = false, WriteOptions? options = null)
    {
        lock (_lock)
        {
            var existing = Find(type, ns, name) ?? throw ApiException.NotFound(type, name);
            var patched = change(existing.Copy());
            if (patched["metadata"] is not JsonObject metadata)
            {
                throw ApiException.BadRequest("the patch removed metadata");
            }

            // A patch that names a resourceVersion is a precondition; one that does not applies to the current object.
            if ((string?)metadata["resourceVersion"] is not { Length: > 0 })
            {
                metadata["resourceVersion"] = existing.ResourceVersion.ToString(CultureInfo.InvariantCulture);
            }

            return Update(type, ns, name, patched, statusOnly, options);
        }
    }

    /// <summary>Deletes an object, or starts its deletion when finalizers hold it.</summary>
    /// <param name="type">Its type.</param>
    /// <param name="ns">Namespace, empty for cluster-scoped types.</param>
    /// <param name="name">Name.</param>
    /// <param name="policy">What happens to dependents.</param>
    /// <param name="uid">Precondition on metadata.uid, or null.</param>
    /// <param name="resourceVersion">Precondition on metadata.resourceVersion, or null.</param>
    /// <param name="gracePeriodSeconds">
    /// For a pod bound to a node: seconds its kubelet has to stop it. Anything but 0 only marks the pod
    /// terminating, and the node's kubelet deletes it with 0 once the containers are gone, as on a real
    /// cluster. Null uses the pod's terminationGracePeriodSeconds (default 30).
    /// </param>
    /// <returns>The object as last stored; <c>Deleted</c> tells whether it is gone.</returns>
    public (StoredObject Object, bool Deleted) Delete(ResourceType type, string ns, string name, PropagationPolicy policy = PropagationPolicy.Background, string? uid = null, string? resourceVersion = null, long? gracePeriodSeconds = null)
    {
        lock (_lock)
        {
            var existing = Find(type, ns, name) ?? throw ApiException.NotFound(type, name);
            if ((uid is not null && uid != existing.Uid)
                || (resourceVersion is not null && resourceVersion != existing.ResourceVersion.ToString(CultureInfo.InvariantCulture)))
            {
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on {type} \"{name}\": Precondition failed: UID in precondition: {uid ?? "-"}, UID in object meta: {existing.Uid}");
            }

            var bound = type.GroupResource == "pods" && (string?)existing.Node["spec"]?["nodeName"] is { Length: > 0 };
            if (bound && gracePeriodSeconds != 0 && existing.Terminating)
            {
                // Already terminating: only its kubelet, with a grace period of 0, finishes the delete.
                return (existing, false);
            }

            if (bound && gracePeriodSeconds != 0)
            {
                var pod = existing.Copy();
                var grace = gracePeriodSeconds ?? (long?)pod["spec"]?["terminationGracePeriodSeconds"] ?? 30;
                var metadata = pod["metadata"]!.AsObject();
                metadata["deletionTimestamp"] = Timestamp(TimeSpan.FromSeconds(grace));
                metadata["deletionGracePeriodSeconds"] = grace;
                return (Commit(type, pod, existing, "MODIFIED"), false);
            }

            var result = DeleteInternal(existing, policy);
            CollectGarbage();
            var current = Find(type, ns, name);
            return current is null ? (result, true) : (current, false);
        }
    }

    /// <summary>Opens a watch.</summary>
    /// <param name="type">The type.</param>
    /// <param name="ns">A namespace, or null for all.</param>
    /// <param name="labels">Label selector.</param>
    /// <param name="fields">Field selector.</param>
    /// <param name="fromResourceVersion">Deliver changes after this resourceVersion; null or 0 starts with ADDED for every current object.</param>
    /// <returns>The watch; dispose it to stop.</returns>
    public Watcher Watch(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, long? fromResourceVersion)
    {
        lock (_lock)
        {
            var watcher = new Watcher(type, ns, labels, fields, Unwatch);
            if (fromResourceVersion is null or 0)
            {
                if (_objects.TryGetValue(type.GroupResource, out var objects))
                {
                    foreach (var obj in objects.Values)
                    {
                        if (ns is null || obj.Namespace == ns)
                        {
                            watcher.Added(obj);
                        }
                    }
                }
            }
            else if (fromResourceVersion < _compactedThrough)
            {
                watcher.Fail(new ApiException(410, "Expired", $"too old resource version: {fromResourceVersion} ({_compactedThrough + 1})"));
                return watcher;
            }
            else
            {
                var start = FirstAfter(fromResourceVersion.Value);
                for (var i = start; i < _history.Count; i++)
                {
                    watcher.Offer(_history[i]);
                }
            }

            _watchers.Add(watcher);
            return watcher;
        }
    }

    /// <summary>Sends a bookmark with the latest resourceVersion to a watch.</summary>
    /// <param name="watcher">The watch.</param>
    public void Bookmark(Watcher watcher)
    {
        lock (_lock)
        {
            watcher.Bookmark(_resourceVersion);
        }
    }

    /// <summary>Forgets every past change, so a watch that resumes from an older resourceVersion gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _compactedThrough = _resourceVersion;
        }
    }

    /// <summary>Ends every open watch, as an API server restart would.</summary>
    public void CloseAllWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Close();
            }

            _watchers.Clear();
        }
    }

    /// <summary>Every object of a type, for internal controllers.</summary>
    /// <param name="type">The type.</param>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<StoredObject> Snapshot(ResourceType type)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(type.GroupResource, out var objects) ? [.. objects.Values] : [];
        }
    }

    private void Unwatch(Watcher watcher)
    {
        lock (_lock)
        {
            _watchers.Remove(watcher);
        }
    }

    private StoredObject? Find(ResourceType type, string ns, string name) =>
        _objects.TryGetValue(type.GroupResource, out var objects) && objects.TryGetValue(ns + "/" + name, out var obj) ? obj : null;

    private static string CheckNamespace(ResourceType type, string ns, JsonObject metadata)
    {
        var bodyNs = (string?)metadata["namespace"];
        if (!type.Namespaced)
        {
            metadata.Remove("namespace");
            return "";
        }

        if (string.IsNullOrEmpty(ns))
        {
            ns = bodyNs ?? throw ApiException.BadRequest("the namespace of the object is missing");
        }
        else if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw ApiException.BadRequest($"the namespace of the provided object does not match the namespace sent on the request");
        }

        metadata["namespace"] = ns;
        return ns;
    }

    private void RequireLiveNamespace(string ns)
    {
        var found = Find(Registry.Namespaces, "", ns) ?? throw ApiException.NotFound(Registry.Namespaces, ns);
        if (found.Terminating)
        {
            throw new ApiException(403, "Forbidden", $"unable to create new content in namespace {ns} because it is being terminated");
        }
    }

    private StoredObject Replace(ResourceType type, StoredObject existing, JsonObject updated)
    {
        updated["metadata"]!.AsObject()["resourceVersion"] = existing.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        if (JsonNode.DeepEquals(existing.Node, updated))
        {
            // A no-op update changes nothing, not even the resourceVersion, as on a real server.
            return existing;
        }

        var stored = Commit(type, updated, existing, "MODIFIED");
        if (type == Registry.Crds)
        {
            stored = Establish(stored);
        }

        if (stored.Terminating || stored.OwnerUids.Count > 0)
        {
            _garbage.Enqueue(stored.Uid);
        }

        CollectGarbage();
        return Find(type, existing.Namespace, existing.Name) ?? stored;
    }

    private StoredObject DeleteInternal(StoredObject existing, PropagationPolicy policy)
    {
        var type = existing.Type;
        var obj = existing.Copy();
        var finalizers = Finalizers(obj);
        if (!existing.Terminating)
        {
            if (policy == PropagationPolicy.Orphan && !finalizers.Contains("orphan"))
            {
                AddFinalizer(obj, "orphan");
            }
            else if (policy == PropagationPolicy.Foreground && !finalizers.Contains("foregroundDeletion"))
            {
                AddFinalizer(obj, "foregroundDeletion");
            }
        }

        var isNamespace = type == Registry.Namespaces;
        if (Finalizers(obj).Count == 0 && !(isNamespace && NamespaceFinalizers(obj).Count > 0))
        {
            return Remove(existing);
        }

        if (existing.Terminating && JsonNode.DeepEquals(existing.Node, obj))
        {
            return existing;
        }

        var metadata = obj["metadata"]!.AsObject();
        metadata["deletionTimestamp"] ??= Timestamp();
        metadata["deletionGracePeriodSeconds"] ??= 0;
        if (isNamespace)
        {
            obj["status"] = new JsonObject { ["phase"] = "Terminating" };
        }

        var stored = Commit(type, obj, existing, "MODIFIED");
        _garbage.Enqueue(stored.Uid);
        return stored;
    }

    private StoredObject Remove(StoredObject existing)
    {
        var obj = existing.Copy();
        var removed = Commit(existing.Type, obj, existing, "DELETED");
        if (existing.Type == Registry.Crds)
        {
            Registry.Unregister(existing.Name);
        }

        return removed;
    }

    // Works through the queue of objects whose owners, dependents or namespace changed.
    private void CollectGarbage()
    {
        while (_garbage.TryDequeue(out var uid))
        {
            if (!_byUid.TryGetValue(uid, out var obj))
            {
                continue;
            }

            var owners = obj.OwnerUids;
            if (!obj.Terminating && owners.Count > 0 && owners.All(o => !_byUid.ContainsKey(o)))
            {
                DeleteInternal(obj, PropagationPolicy.Background);
                continue;
            }

            if (!obj.Terminating)
            {
                continue;
            }

            var finalizers = obj.Finalizers;
            if (finalizers.Contains("orphan"))
            {
                foreach (var dependent in Dependents(uid))
                {
                    var copy = dependent.Copy();
                    var refs = copy["metadata"]!["ownerReferences"]!.AsArray();
                    foreach (var reference in refs.Where(r => (string?)r!["uid"] == uid).ToList())
                    {
                        refs.Remove(reference);
                    }

                    Commit(dependent.Type, copy, dependent, "MODIFIED");
                }

                obj = RemoveFinalizer(obj, "orphan");
            }

            if (finalizers.Contains("foregroundDeletion"))
            {
                var dependents = Dependents(uid);
                foreach (var dependent in dependents.Where(d => !d.Terminating))
                {
                    DeleteInternal(dependent, PropagationPolicy.Background);
                }

                if (Dependents(uid).Count == 0)
                {
                    obj = RemoveFinalizer(obj, "foregroundDeletion");
                }
            }

            if (obj.Type == Registry.Namespaces)
            {
                var contents = _objects.Values.SelectMany(o => o.Values).Where(o => o.Namespace == obj.Name).ToList();
                foreach (var item in contents.Where(i => !i.Terminating))
                {
                    DeleteInternal(item, PropagationPolicy.Background);
                }

                if (!_objects.Values.SelectMany(o => o.Values).Any(o => o.Namespace == obj.Name) && NamespaceFinalizers(obj.Node).Count > 0)
                {
                    var copy = obj.Copy();
                    copy["spec"] = new JsonObject { ["finalizers"] = new JsonArray() };
                    obj = Commit(obj.Type, copy, obj, "MODIFIED");
                }
            }

            if (obj.Type == Registry.Crds && obj.Finalizers.Contains(CrdCleanupFinalizer))
            {
                var instances = Registry.All.Where(t => t.DefinedBy == obj.Name)
                    .SelectMany(t => _objects.TryGetValue(t.GroupResource, out var items) ? items.Values : Enumerable.Empty<StoredObject>())
                    .ToList();
                foreach (var instance in instances.Where(i => !i.Terminating))
                {
                    DeleteInternal(instance, PropagationPolicy.Background);
                }

                if (!Registry.All.Where(t => t.DefinedBy == obj.Name).Any(t => _objects.TryGetValue(t.GroupResource, out var items) && items.Count > 0))
                {
                    obj = RemoveFinalizer(obj, CrdCleanupFinalizer);
                }
            }

            if (obj.Finalizers.Count == 0 && !(obj.Type == Registry.Namespaces && NamespaceFinalizers(obj.Node).Count > 0))
            {
                Remove(obj);
            }
        }
    }

    private List<StoredObject> Dependents(string ownerUid) =>
        _dependents.TryGetValue(ownerUid, out var uids) ? [.. uids.Select(u => _byUid[u])] : [];

    private StoredObject RemoveFinalizer(StoredObject obj, string finalizer)
    {
        var copy = obj.Copy();
        var list = copy["metadata"]!["finalizers"]!.AsArray();
        foreach (var item in list.Where(f => (string?)f == finalizer).ToList())
        {
            list.Remove(item);
        }

        return Commit(obj.Type, copy, obj, "MODIFIED");
    }

    // Records the CRD's names as accepted and the CRD as established, and serves its resources.
    private StoredObject Establish(StoredObject crd)
    {
        if (crd.Terminating)
        {
            return crd;
        }

        Registry.Register(crd.Node);
        var copy = crd.Copy();
        var now = Timestamp();
        var spec = copy["spec"]!.AsObject();
        var status = new JsonObject
        {
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "NamesAccepted", ["status"] = "True", ["reason"] = "NoConflicts", ["message"] = "no conflicts found", ["lastTransitionTime"] = now },
                new JsonObject { ["type"] = "Established", ["status"] = "True", ["reason"] = "InitialNamesAccepted", ["message"] = "the initial names have been accepted", ["lastTransitionTime"] = now }),
            ["acceptedNames"] = spec["names"]!.DeepClone(),
            ["storedVersions"] = new JsonArray([.. spec["versions"]!.AsArray()
                .Where(v => (bool?)v!["storage"] == true).Select(v => (JsonNode)(string)v!["name"]!)]),
        };
        if (crd.Node["status"] is JsonObject old && old["conditions"] is JsonArray conditions && conditions.Count == 2)
        {
            // Keep the transition times: the CRD was established before.
            status["conditions"] = conditions.DeepClone();
        }

        copy["status"] = status;
        return JsonNode.DeepEquals(copy, crd.Node) ? crd : Commit(crd.Type, copy, crd, "MODIFIED");
    }

    private StoredObject Commit(ResourceType type, JsonObject obj, StoredObject? previous, string eventType)
    {
        _resourceVersion++;
        obj["metadata"]!.AsObject()["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        var stored = new StoredObject(type, obj);
        if (!_objects.TryGetValue(type.GroupResource, out var objects))
        {
            objects = new SortedDictionary<string, StoredObject>(StringComparer.Ordinal);
            _objects[type.GroupResource] = objects;
        }

        if (previous is not null)
        {
            foreach (var owner in previous.OwnerUids)
            {
                if (_dependents.TryGetValue(owner, out var set))
                {
                    set.Remove(previous.Uid);
                    if (set.Count == 0)
                    {
                        _dependents.Remove(owner);
                    }
                }
            }
        }

        if (eventType == "DELETED")
        {
            objects.Remove(stored.Key);
            _byUid.Remove(stored.Uid);

            // Dependents may now be orphans; owners in foreground deletion may now be free; a namespace may now be empty.
            foreach (var dependent in _dependents.GetValueOrDefault(stored.Uid) ?? [])
            {
                _garbage.Enqueue(dependent);
            }

            foreach (var owner in stored.OwnerUids)
            {
                _garbage.Enqueue(owner);
            }

            if (stored.Namespace.Length > 0 && Find(Registry.Namespaces, "", stored.Namespace) is { Terminating: true } ns)
            {
                _garbage.Enqueue(ns.Uid);
            }

            if (type.DefinedBy is not null && Find(Registry.Crds, "", type.DefinedBy) is { Terminating: true } crd)
            {
                _garbage.Enqueue(crd.Uid);
            }
        }
        else
        {
            objects[stored.Key] = stored;
            _byUid[stored.Uid] = stored;
            foreach (var owner in stored.OwnerUids)
            {
                if (!_dependents.TryGetValue(owner, out var set))
                {
                    set = new HashSet<string>(StringComparer.Ordinal);
                    _dependents[owner] = set;
                }

                set.Add(stored.Uid);
            }
        }

        var change = new StoreEvent(eventType, stored, previous);
        _history.Add(change);
        if (_history.Count > _options.HistoryLimit + (_options.HistoryLimit / 10))
        {
            var drop = _history.Count - _options.HistoryLimit;
            _compactedThrough = _history[drop - 1].ResourceVersion;
            _history.RemoveRange(0, drop);
        }

        foreach (var watcher in _watchers)
        {
            watcher.Offer(change);
        }

        return stored;
    }

    private int FirstAfter(long resourceVersion)
    {
        int lo = 0, hi = _history.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_history[mid].ResourceVersion <= resourceVersion)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static bool SpecChanged(JsonObject before, JsonObject after)
    {
        static JsonObject Strip(JsonObject o)
        {
            var copy = o.DeepClone().AsObject();
            copy.Remove("metadata");
            copy.Remove("status");
            return copy;
        }

        return !JsonNode.DeepEquals(Strip(before), Strip(after));
    }

    private static List<string> Finalizers(JsonObject obj) =>
        obj["metadata"]?["finalizers"] is JsonArray list ? [.. list.Select(f => (string)f!)] : [];

    private static List<string> NamespaceFinalizers(JsonObject ns) =>
        ns["spec"]?["finalizers"] is JsonArray list ? [.. list.Select(f => (string)f!)] : [];

    private static void AddFinalizer(JsonObject obj, string finalizer)
    {
        var metadata = obj["metadata"]!.AsObject();
        if (metadata["finalizers"] is not JsonArray list)
        {
            list = [];
            metadata["finalizers"] = list;
        }

        list.Add(finalizer);
    }

    private string Timestamp(TimeSpan? after = null) =>
        Rfc3339.Format(_time.GetUtcNow() + (after ?? TimeSpan.Zero));

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }

    private static string EncodeContinue(string key) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(key));

    private static string DecodeContinue(string token)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw ApiException.BadRequest("invalid continue token");
        }
    }
}
