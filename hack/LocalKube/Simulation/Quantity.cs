using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DePin.LocalKube.Simulation;

/// <summary>Kubernetes resource quantities (<c>500m</c>, <c>2</c>, <c>256Mi</c>, <c>1e3</c>) as numbers.</summary>
public static class Quantity
{
    private static readonly (string Suffix, decimal Factor)[] Suffixes =
    [
        ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024),
        ("Pi", 1024m * 1024 * 1024 * 1024 * 1024), ("Ei", 1024m * 1024 * 1024 * 1024 * 1024 * 1024),
        ("n", 0.000000001m), ("u", 0.000001m), ("m", 0.001m), ("k", 1000m), ("M", 1000_000m), ("G", 1000_000_000m),
        ("T", 1000_000_000_000m), ("P", 1000_000_000_000_000m), ("E", 1000_000_000_000_000_000m),
    ];

    /// <summary>Parses a quantity given as a JSON string or number.</summary>
    /// <param name="node">The value.</param>
    /// <returns>The amount in base units (cores, bytes, count).</returns>
    public static decimal Parse(JsonNode? node) => node switch
    {
        null => 0,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<decimal>(),
        _ => Parse(node.ToString()),
    };

    /// <summary>Parses a quantity.</summary>
    /// <param name="text">The quantity.</param>
    /// <returns>The amount in base units (cores, bytes, count).</returns>
    public static decimal Parse(string text)
    {
        text = text.Trim();
        foreach (var (suffix, factor) in Suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && decimal.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return number * factor;
            }
        }

        return decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain)
            ? plain
            : throw new FormatException($"\"{text}\" is not a resource quantity");
    }
}
