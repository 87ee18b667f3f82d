using System.Text.Json;
using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>
/// One stored version of an object. Never mutated after it is stored: writers build a new one. The
/// JSON bytes are made once, so that lists and watch fan-out do not serialize per reader.
/// </summary>
public sealed class StoredObject
{
    private static readonly JsonSerializerOptions Serialization = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Freezes an object.</summary>
    /// <param name="type">Its resource type.</param>
    /// <param name="obj">The object; it is copied.</param>
    public StoredObject(ResourceType type, JsonObject obj)
    {
        Type = type;
        Json = JsonSerializer.SerializeToUtf8Bytes(obj, Serialization);

        // Parsed back from the bytes so that every value reads the same way, whether it came from a
        // request or was set in code (an in-memory int does not convert to long).
        Node = JsonNode.Parse(Json)!.AsObject();

        // Parsed nodes build their children lazily, which is not safe when several threads read the
        // same object for the first time; build them all now, while the object is still private.
        Materialize(Node);
        var metadata = obj["metadata"]!.AsObject();
        Name = (string)metadata["name"]!;
        Namespace = (string?)metadata["namespace"] ?? "";
        Uid = (string)metadata["uid"]!;
        ResourceVersion = long.Parse((string)metadata["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The resource type.</summary>
    public ResourceType Type { get; }

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Materialize(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Materialize(child);
                }

                break;
        }
    }

    /// <summary>The object, fully built so that any thread may read it; never change it.</summary>
    public JsonObject Node { get; }

    /// <summary>The object as UTF-8 JSON, safe to share.</summary>
    public byte[] Json { get; }

    /// <summary>metadata.name.</summary>
    public string Name { get; }

    /// <summary>metadata.namespace, empty for cluster-scoped objects.</summary>
    public string Namespace { get; }

    /// <summary>metadata.uid.</summary>
    public string Uid { get; }

    /// <summary>metadata.resourceVersion.</summary>
    public long ResourceVersion { get; }

    /// <summary>Key within the type: namespace/name.</summary>
    public string Key => Namespace + "/" + Name;

    /// <summary>A private, mutable copy.</summary>
    /// <returns>A new JSON object.</returns>
    public JsonObject Copy() => JsonNode.Parse(Json)!.AsObject();

    /// <summary>metadata.deletionTimestamp is set.</summary>
    public bool Terminating => Node["metadata"]?["deletionTimestamp"] is not null;

    /// <summary>metadata.finalizers.</summary>
    public IReadOnlyList<string> Finalizers =>
        Node["metadata"]?["finalizers"] is JsonArray list ? [.. list.Select(f => (string)f!)] : [];

    /// <summary>UIDs in metadata.ownerReferences.</summary>
    public IReadOnlyList<string> OwnerUids =>
        Node["metadata"]?["ownerReferences"] is JsonArray refs ? [.. refs.Select(r => (string)r!["uid"]!)] : [];
}

/// <summary>A change, as watchers see it.</summary>
/// <param name="Type">ADDED, MODIFIED or DELETED.</param>
/// <param name="Current">The object after the change (for DELETED: its last state, with the deletion's resourceVersion).</param>
/// <param name="Previous">The object before the change, or null for ADDED.</param>
public sealed record StoreEvent(string Type, StoredObject Current, StoredObject? Previous)
{
    /// <summary>resourceVersion of the change.</summary>
    public long ResourceVersion => Current.ResourceVersion;
}
