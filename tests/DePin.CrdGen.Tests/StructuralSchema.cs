using System.Text.Json;
using System.Text.Json.Nodes;

namespace DePin.CrdGen.Tests;

/// <summary>The rules of a structural schema that the Kubernetes API server enforces on a CRD.</summary>
internal static class StructuralSchema
{
    private static readonly HashSet<string> Types = ["object", "array", "string", "integer", "number", "boolean"];

    public static void Check(JsonObject node, string path, List<string> problems)
    {
        var intOrString = node["x-kubernetes-int-or-string"] is JsonValue v && v.GetValue<bool>();
        if (node["x-kubernetes-preserve-unknown-fields"] is not null)
        {
            problems.Add($"{path}: preserves unknown fields");
        }

        switch (node["type"])
        {
            case JsonValue t when t.GetValueKind() == JsonValueKind.String && Types.Contains(t.GetValue<string>()):
                if (intOrString)
                {
                    problems.Add($"{path}: int-or-string with a type");
                }

                break;
            case null when intOrString:
                break;
            case null:
                problems.Add($"{path}: no type");
                break;
            default:
                problems.Add($"{path}: type is {node["type"]!.ToJsonString()}, not a single type name");
                break;
        }

        if (node["anyOf"] is JsonArray anyOf)
        {
            var branches = anyOf.Select(b => b!.ToJsonString()).ToList();
            if (!intOrString || branches.Count != 2 || !branches.Contains("""{"type":"integer"}""") || !branches.Contains("""{"type":"string"}"""))
            {
                problems.Add($"{path}: anyOf is allowed only as the int-or-string pair");
            }
        }

        foreach (var keyword in new[] { "oneOf", "allOf", "not", "$ref" })
        {
            if (node[keyword] is not null)
            {
                problems.Add($"{path}: {keyword} is not used by this project");
            }
        }

        var type = (string?)(node["type"] as JsonValue);
        if (node["properties"] is JsonObject properties)
        {
            if (type != "object")
            {
                problems.Add($"{path}: properties on a {type}");
            }

            if (node["additionalProperties"] is not null)
            {
                problems.Add($"{path}: both properties and additionalProperties");
            }

            foreach (var (name, child) in properties)
            {
                Check(child!.AsObject(), $"{path}.{name}", problems);
            }

            foreach (var required in node["required"]?.AsArray() ?? [])
            {
                if (!properties.ContainsKey((string)required!))
                {
                    problems.Add($"{path}: required {required} is not a property");
                }
            }
        }

        if (node["additionalProperties"] is JsonObject values)
        {
            Check(values, $"{path}.*", problems);
        }

        if (type == "array")
        {
            if (node["items"] is not JsonObject items)
            {
                problems.Add($"{path}: array without items");
                return;
            }

            Check(items, $"{path}[]", problems);

            // A list-map key must always be present: required, or defaulted.
            foreach (var key in node["x-kubernetes-list-map-keys"]?.AsArray() ?? [])
            {
                var isRequired = items["required"]?.AsArray().Any(r => (string?)r == (string?)key) == true;
                var hasDefault = items["properties"]?[(string)key!]?["default"] is not null;
                if (!isRequired && !hasDefault)
                {
                    problems.Add($"{path}: list-map key {key} is neither required nor defaulted");
                }
            }
        }
    }

    /// <summary>Fields of the project's own types without a description. Types embedded from the Kubernetes API are skipped below their root.</summary>
    public static void CollectUndescribed(JsonObject node, string path, List<string> missing, ref int described)
    {
        if (node["description"] is null)
        {
            missing.Add(path);
        }
        else
        {
            described++;
        }

        if (IsEmbeddedKubernetesType(path))
        {
            return;
        }

        foreach (var (name, child) in node["properties"]?.AsObject() ?? [])
        {
            CollectUndescribed(child!.AsObject(), $"{path}.{name}", missing, ref described);
        }

        if (node["items"] is JsonObject { } items && items["properties"] is not null)
        {
            CollectUndescribed(items, $"{path}[]", missing, ref described);
        }
    }

    // The pod template, tolerations and affinity are core/v1 types documented by `kubectl explain pod.spec`.
    private static bool IsEmbeddedKubernetesType(string path) =>
        path is "spec.template" or "spec.fallback.tolerations" or "spec.fallback.affinity";
}
