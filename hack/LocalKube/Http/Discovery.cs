using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>Discovery documents and OpenAPI v3, built from the registry on each request.</summary>
public static class Discovery
{
    private static readonly string[] Verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    /// <summary>The <c>/version</c> document.</summary>
    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-localkube",
        ["gitCommit"] = "localkube",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "n/a",
        ["compiler"] = "dotnet",
        ["platform"] = "linux/amd64",
    };

    /// <summary>The <c>/api</c> document.</summary>
    /// <param name="serverAddress">host:port clients use.</param>
    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    /// <summary>The <c>/apis</c> document.</summary>
    /// <param name="registry">The types.</param>
    public static JsonObject Groups(ResourceRegistry registry) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. registry.All.Where(t => t.Group.Length > 0).GroupBy(t => t.Group).Select(g => (JsonNode)Group(g.Key, g))]),
    };

    /// <summary>The <c>/apis/GROUP</c> document, or null.</summary>
    /// <param name="registry">The types.</param>
    /// <param name="group">The group.</param>
    public static JsonObject? Group(ResourceRegistry registry, string group)
    {
        var types = registry.All.Where(t => t.Group == group).ToList();
        if (types.Count == 0)
        {
            return null;
        }

        var result = Group(group, types);
        result["kind"] = "APIGroup";
        result["apiVersion"] = "v1";
        return result;
    }

    private static JsonObject Group(string group, IEnumerable<ResourceType> types)
    {
        var versions = types.Select(t => t.Version).Distinct().Select(v => (JsonNode)new JsonObject
        {
            ["groupVersion"] = $"{group}/{v}",
            ["version"] = v,
        }).ToList();
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray([.. versions]),
            ["preferredVersion"] = versions[0]!.DeepClone(),
        };
    }

    /// <summary>The APIResourceList of a group version, or null when nothing is served there.</summary>
    /// <param name="registry">The types.</param>
    /// <param name="group">Group, empty for core.</param>
    /// <param name="version">Version.</param>
    public static JsonObject? Resources(ResourceRegistry registry, string group, string version)
    {
        var types = registry.All.Where(t => t.Group == group && t.Version == version).ToList();
        if (types.Count == 0)
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (var type in types)
        {
            var resource = new JsonObject
            {
                ["name"] = type.Plural,
                ["singularName"] = type.Singular,
                ["namespaced"] = type.Namespaced,
                ["kind"] = type.Kind,
                ["verbs"] = new JsonArray([.. Verbs.Select(v => (JsonNode)v)]),
            };
            if (type.ShortNames.Count > 0)
            {
                resource["shortNames"] = new JsonArray([.. type.ShortNames.Select(n => (JsonNode)n)]);
            }

            if (type.Categories.Count > 0)
            {
                resource["categories"] = new JsonArray([.. type.Categories.Select(n => (JsonNode)n)]);
            }

            resources.Add(resource);
            if (type.HasStatusSubresource)
            {
                resources.Add(Subresource(type, "status", type.Kind, group, version));
            }

            if (type.Scale is not null)
            {
                resources.Add(Subresource(type, "scale", "Scale", "autoscaling", "v1"));
            }

            if (type.GroupResource == "pods")
            {
                var binding = Subresource(type, "binding", "Binding", "", "v1");
                binding["verbs"] = new JsonArray("create");
                resources.Add(binding);
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    private static JsonObject Subresource(ResourceType type, string name, string kind, string group, string version)
    {
        var sub = new JsonObject
        {
            ["name"] = $"{type.Plural}/{name}",
            ["singularName"] = "",
            ["namespaced"] = type.Namespaced,
            ["kind"] = kind,
            ["verbs"] = new JsonArray("get", "patch", "update"),
        };
        if (group != type.Group || version != type.Version)
        {
            sub["group"] = group;
            sub["version"] = version;
        }

        return sub;
    }

    /// <summary>The <c>/openapi/v3</c> index: one document per group version.</summary>
    /// <param name="registry">The types.</param>
    public static JsonObject OpenApiIndex(ResourceRegistry registry)
    {
        var paths = new JsonObject();
        foreach (var gv in registry.All.GroupBy(t => (t.Group, t.Version)))
        {
            var key = GroupVersionPath(gv.Key.Group, gv.Key.Version);
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(OpenApi(registry, gv.Key.Group, gv.Key.Version)!.ToJsonString())))[..16];
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>
    /// The OpenAPI v3 document of a group version: a path per resource whose operations carry
    /// <c>x-kubernetes-group-version-kind</c> and the <c>fieldValidation</c> parameter (kubectl checks
    /// both before it asks for server-side field validation), and a schema per kind, which is the
    /// CRD's own schema for custom resources (what <c>kubectl explain</c> prints).
    /// </summary>
    /// <param name="registry">The types.</param>
    /// <param name="group">Group, empty for core.</param>
    /// <param name="version">Version.</param>
    public static JsonObject? OpenApi(ResourceRegistry registry, string group, string version)
    {
        var types = registry.All.Where(t => t.Group == group && t.Version == version).ToList();
        if (types.Count == 0)
        {
            return null;
        }

        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var type in types)
        {
            var gvk = new JsonObject { ["group"] = group, ["version"] = version, ["kind"] = type.Kind };
            var schemaName = SchemaName(type);
            var body = new JsonObject
            {
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" } } },
            };
            JsonObject Operation(string action) => new()
            {
                ["operationId"] = $"{action}{type.Kind}",
                ["x-kubernetes-action"] = action,
                ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                ["parameters"] = new JsonArray(
                    Parameter("dryRun"), Parameter("fieldManager"), Parameter("fieldValidation"), Parameter("pretty")),
                ["responses"] = new JsonObject { ["200"] = body.DeepClone() },
            };

            var prefix = "/" + GroupVersionPath(group, version) + (type.Namespaced ? "/namespaces/{namespace}" : "");
            var collection = new JsonObject { ["get"] = Operation("list"), ["post"] = Operation("post") };
            var item = new JsonObject { ["get"] = Operation("get"), ["put"] = Operation("put"), ["patch"] = Operation("patch"), ["delete"] = Operation("delete") };
            ((JsonObject)item["patch"]!)["requestBody"] = new JsonObject
            {
                ["content"] = new JsonObject
                {
                    ["application/json-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                    ["application/merge-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                    ["application/apply-patch+yaml"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                },
            };
            paths[$"{prefix}/{type.Plural}"] = collection;
            paths[$"{prefix}/{type.Plural}/{{name}}"] = item;
            if (type.HasStatusSubresource)
            {
                paths[$"{prefix}/{type.Plural}/{{name}}/status"] = new JsonObject { ["get"] = Operation("get"), ["put"] = Operation("put"), ["patch"] = Operation("patch") };
            }

            var schema = type.Schema?.DeepClone().AsObject() ?? new JsonObject
            {
                ["description"] = $"{type.Kind} is a built-in kind served by LocalKube without a published schema.",
                ["type"] = "object",
                ["x-kubernetes-preserve-unknown-fields"] = true,
            };
            schema["x-kubernetes-group-version-kind"] = new JsonArray(gvk.DeepClone());
            schemas[schemaName] = schema;
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "LocalKube", ["version"] = "v1.32.0-localkube" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static JsonObject Parameter(string name) => new()
    {
        ["name"] = name,
        ["in"] = "query",
        ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true },
    };

    private static string GroupVersionPath(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    // io.k8s.api.core.v1.Pod for built-ins; reverse domain for custom groups (dev.depin.v1alpha1.DePinDeployment).
    private static string SchemaName(ResourceType type) => type.Group.Length == 0 || !type.Group.Contains('.', StringComparison.Ordinal)
        ? $"io.k8s.api.{(type.Group.Length == 0 ? "core" : type.Group)}.{type.Version}.{type.Kind}"
        : $"{string.Join('.', type.Group.Split('.').Reverse())}.{type.Version}.{type.Kind}";
}
