using System.Text.Json;
using System.Text.Json.Nodes;

namespace DePin.Testing;

/// <summary>Lists where two JSON trees differ.</summary>
public static class JsonTrees
{
    /// <summary>Adds a line to <paramref name="differences"/> for every place where the trees differ.</summary>
    /// <param name="expected">The tree before.</param>
    /// <param name="actual">The tree after.</param>
    /// <param name="path">Path of the two nodes, empty at the root.</param>
    /// <param name="differences">Where differences are collected.</param>
    public static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> differences)
    {
        switch (expected)
        {
            case JsonObject e when actual is JsonObject a:
                foreach (var (key, value) in e)
                {
                    if (!a.TryGetPropertyValue(key, out var other))
                    {
                        differences.Add($"{path}.{key}: missing");
                        continue;
                    }

                    Compare(value, other, $"{path}.{key}", differences);
                }

                foreach (var (key, _) in a)
                {
                    if (!e.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: added");
                    }
                }

                break;
            case JsonArray e when actual is JsonArray a:
                if (e.Count != a.Count)
                {
                    differences.Add($"{path}: {e.Count} items became {a.Count}");
                    break;
                }

                for (var i = 0; i < e.Count; i++)
                {
                    Compare(e[i], a[i], $"{path}[{i}]", differences);
                }

                break;
            case JsonValue e when actual is JsonValue a:
                if (!SameScalar(e, a))
                {
                    differences.Add($"{path}: {e.ToJsonString()} became {a.ToJsonString()}");
                }

                break;
            case null when actual is null:
                break;
            default:
                differences.Add($"{path}: {expected?.ToJsonString() ?? "null"} became {actual?.ToJsonString() ?? "null"}");
                break;
        }
    }

    // Resource quantities are int-or-string: Kubernetes itself writes `1` back as "1".
    private static bool SameScalar(JsonValue expected, JsonValue actual) =>
        JsonNode.DeepEquals(expected, actual)
        || (expected.GetValueKind() == JsonValueKind.Number
            && actual.GetValueKind() == JsonValueKind.String
            && expected.ToJsonString() == actual.GetValue<string>());
}
