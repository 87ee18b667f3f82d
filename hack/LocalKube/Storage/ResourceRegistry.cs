using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>The resource types the server serves: the built-in ones and those of established CRDs.</summary>
public sealed class ResourceRegistry
{
    private readonly Lock _lock = new();
    private readonly List<ResourceType> _types = [];

    /// <summary>Creates the registry with the built-in types.</summary>
    public ResourceRegistry()
    {
        foreach (var type in BuiltIn())
        {
            _types.Add(type);
        }
    }

    /// <summary>A snapshot of every type.</summary>
    public IReadOnlyList<ResourceType> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _types];
            }
        }
    }

    /// <summary>The CRD type, which the store treats specially.</summary>
    public ResourceType Crds => Find("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;

    /// <summary>The namespace type.</summary>
    public ResourceType Namespaces => Find("", "v1", "namespaces")!;

    /// <summary>Finds a type by group, version and plural.</summary>
    /// <param name="group">API group, empty for core.</param>
    /// <param name="version">Version.</param>
    /// <param name="plural">Plural resource name.</param>
    /// <returns>The type, or null.</returns>
    public ResourceType? Find(string group, string version, string plural)
    {
        lock (_lock)
        {
            return _types.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);
        }
    }

    /// <summary>Finds a type by apiVersion and kind.</summary>
    /// <param name="apiVersion">group/version, or version for core.</param>
    /// <param name="kind">The kind.</param>
    /// <returns>The type, or null.</returns>
    public ResourceType? FindKind(string apiVersion, string kind)
    {
        lock (_lock)
        {
            return _types.FirstOrDefault(t => t.ApiVersion == apiVersion && t.Kind == kind);
        }
    }

    /// <summary>Serves the versions of a CRD, replacing what it served before.</summary>
    /// <param name="crd">The CustomResourceDefinition.</param>
    /// <returns>The served types.</returns>
    public IReadOnlyList<ResourceType> Register(JsonObject crd)
    {
        var types = FromCrd(crd);
        lock (_lock)
        {
            var name = (string)crd["metadata"]!["name"]!;
            _types.RemoveAll(t => t.DefinedBy == name);
            _types.AddRange(types);
        }

        return types;
    }

    /// <summary>Stops serving the types of a CRD.</summary>
    /// <param name="crdName">metadata.name of the CRD.</param>
    public void Unregister(string crdName)
    {
        lock (_lock)
        {
            _types.RemoveAll(t => t.DefinedBy == crdName);
        }
    }

    /// <summary>The types a CRD defines, one per served version.</summary>
    /// <param name="crd">The CustomResourceDefinition.</param>
    /// <returns>The types.</returns>
    public static IReadOnlyList<ResourceType> FromCrd(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var result = new List<ResourceType>();
        foreach (var version in spec["versions"]!.AsArray().Select(v => v!.AsObject()))
        {
            if (version["served"] is JsonValue served && !served.GetValue<bool>())
            {
                continue;
            }

            var subresources = version["subresources"] as JsonObject;
            var scale = subresources?["scale"] as JsonObject;
            result.Add(new ResourceType
            {
                Group = (string)spec["group"]!,
                Version = (string)version["name"]!,
                Kind = (string)names["kind"]!,
                Plural = (string)names["plural"]!,
                Singular = (string?)names["singular"] ?? ((string)names["kind"]!).ToLowerInvariant(),
                Namespaced = (string?)spec["scope"] == "Namespaced",
                ShortNames = Strings(names["shortNames"]),
                Categories = Strings(names["categories"]),
                HasStatusSubresource = subresources?["status"] is not null,
                Scale = scale is null ? null : new ScaleSubresource(
                    (string)scale["specReplicasPath"]!, (string)scale["statusReplicasPath"]!, (string?)scale["labelSelectorPath"]),
                Schema = version["schema"]?["openAPIV3Schema"]?.DeepClone().AsObject(),
                PrinterColumns = [.. (version["additionalPrinterColumns"] as JsonArray ?? []).Select(c => new PrinterColumn(
                    (string)c!["name"]!, (string)c["type"]!, (string)c["jsonPath"]!, (string?)c["description"] ?? "",
                    (int?)c["priority"] ?? 0, (string?)c["format"]))],
                DefinedBy = (string)crd["metadata"]!["name"]!,
            });
        }

        return result;
    }

    private static string[] Strings(JsonNode? node) => node is JsonArray a ? [.. a.Select(n => (string)n!)] : [];

    private static IEnumerable<ResourceType> BuiltIn()
    {
        ResourceType T(string group, string version, string kind, string plural, bool namespaced, bool status = false, string[]? shortNames = null, string[]? categories = null, ScaleSubresource? scale = null) => new()
        {
            Group = group,
            Version = version,
            Kind = kind,
            Plural = plural,
            Singular = kind.ToLowerInvariant(),
            Namespaced = namespaced,
            HasStatusSubresource = status,
            ShortNames = shortNames ?? [],
            Categories = categories ?? [],
            Scale = scale,
        };

        yield return T("", "v1", "Namespace", "namespaces", false, status: true, shortNames: ["ns"]);
        yield return T("", "v1", "Pod", "pods", true, status: true, shortNames: ["po"], categories: ["all"]);
        yield return T("", "v1", "Node", "nodes", false, status: true, shortNames: ["no"]);
        yield return T("", "v1", "Event", "events", true, shortNames: ["ev"]);
        yield return T("", "v1", "Secret", "secrets", true);
        yield return T("", "v1", "ConfigMap", "configmaps", true, shortNames: ["cm"]);
        yield return T("", "v1", "Service", "services", true, status: true, shortNames: ["svc"], categories: ["all"]);
        yield return T("", "v1", "ServiceAccount", "serviceaccounts", true, shortNames: ["sa"]);
        yield return T("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true);
        yield return T("apps", "v1", "Deployment", "deployments", true, status: true, shortNames: ["deploy"], categories: ["all"],
            scale: new ScaleSubresource(".spec.replicas", ".status.replicas", null));
        yield return T("coordination.k8s.io", "v1", "Lease", "leases", true);
        yield return T("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, status: true, shortNames: ["pdb"]);
        yield return T("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, shortNames: ["netpol"]);
        yield return T("rbac.authorization.k8s.io", "v1", "Role", "roles", true);
        yield return T("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false);
        yield return T("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true);
        yield return T("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false);
        yield return T("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, status: true, shortNames: ["crd", "crds"], categories: ["api-extensions"]);
    }
}
