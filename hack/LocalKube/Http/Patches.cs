using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>The PATCH formats the API server accepts.</summary>
public static class Patches
{
    // Lists of built-in kinds that strategic merge patch merges by a key instead of replacing.
    private static readonly Dictionary<string, string[]> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = ["name"],
        ["initContainers"] = ["name"],
        ["ephemeralContainers"] = ["name"],
        ["volumes"] = ["name"],
        ["env"] = ["name"],
        ["volumeMounts"] = ["mountPath"],
        ["ports"] = ["containerPort", "port"],
        ["conditions"] = ["type"],
        ["imagePullSecrets"] = ["name"],
        ["ownerReferences"] = ["uid"],
        ["hostAliases"] = ["ip"],
        ["addresses"] = ["type"],
    };

    /// <summary>RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces.</summary>
    /// <param name="target">The document.</param>
    /// <param name="patch">The patch.</param>
    /// <returns>The patched document.</returns>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var merged = MergePatch(result[key]?.DeepClone(), value);
                result[key] = merged;
            }
        }

        return result;
    }

    /// <summary>
    /// Strategic merge patch for built-in kinds: like a merge patch, but lists of objects with a known
    /// merge key (containers by name, conditions by type, ...) merge item by item, metadata.finalizers
    /// merge as a set, and the <c>$patch</c>, <c>$setElementOrder</c>, <c>$retainKeys</c> and
    /// <c>$deleteFromPrimitiveList</c> directives that kubectl sends are honoured or ignored as harmless.
    /// </summary>
    /// <param name="target">The document.</param>
    /// <param name="patch">The patch.</param>
    /// <param name="field">Name of the field the document is the value of, which selects the merge key.</param>
    /// <returns>The patched document.</returns>
    public static JsonNode? StrategicMergePatch(JsonNode? target, JsonNode? patch, string field = "")
    {
        if (patch is JsonArray patchList)
        {
            return MergeList(target as JsonArray, patchList, field);
        }

        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        if ((string?)patchObject["$patch"] == "replace")
        {
            var replacement = patchObject.DeepClone().AsObject();
            replacement.Remove("$patch");
            return replacement;
        }

        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal) || key is "$retainKeys" or "$patch")
            {
                continue;
            }

            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var listName = key["$deleteFromPrimitiveList/".Length..];
                if (result[listName] is JsonArray list)
                {
                    foreach (var item in list.Where(i => value!.AsArray().Any(v => JsonNode.DeepEquals(v, i))).ToList())
                    {
                        list.Remove(item);
                    }
                }

                continue;
            }

            if (value is null)
            {
                result.Remove(key);
            }
            else if (key == "finalizers" && value is JsonArray finalizers && field == "metadata")
            {
                var existing = result[key] as JsonArray ?? [];
                foreach (var finalizer in finalizers.Where(f => !existing.Any(e => JsonNode.DeepEquals(e, f))))
                {
                    existing.Add(finalizer!.DeepClone());
                }

                result[key] = existing.DeepClone();
            }
            else
            {
                result[key] = StrategicMergePatch(result[key]?.DeepClone(), value, key);
            }
        }

        return result;
    }

    private static JsonArray MergeList(JsonArray? target, JsonArray patch, string field)
    {
        var keyNames = MergeKeys.GetValueOrDefault(field);
        var mergeKey = keyNames?.FirstOrDefault(k => patch.OfType<JsonObject>().Any(i => i.ContainsKey(k))
                                                     || (target?.OfType<JsonObject>().Any(i => i.ContainsKey(k)) ?? false));
        if (mergeKey is null || target is null)
        {
            var replaced = new JsonArray();
            foreach (var item in patch.Where(i => i is not JsonObject o || (string?)o["$patch"] != "delete"))
            {
                replaced.Add(item?.DeepClone());
            }

            return replaced;
        }

        var result = target.DeepClone().AsArray();
        foreach (var item in patch.OfType<JsonObject>())
        {
            var key = item[mergeKey];
            var match = result.OfType<JsonObject>().FirstOrDefault(r => JsonNode.DeepEquals(r[mergeKey], key));
            if ((string?)item["$patch"] == "delete")
            {
                if (match is not null)
                {
                    result.Remove(match);
                }

                continue;
            }

            if (match is null)
            {
                result.Add(item.DeepClone());
            }
            else
            {
                var index = result.IndexOf(match);
                result[index] = StrategicMergePatch(match.DeepClone(), item, field);
            }
        }

        return result;
    }

    /// <summary>RFC 6902 JSON patch: add, remove, replace, move, copy and test.</summary>
    /// <param name="target">The document.</param>
    /// <param name="operations">The operations.</param>
    /// <returns>The patched document.</returns>
    public static JsonNode JsonPatch(JsonNode target, JsonArray operations)
    {
        var document = new JsonObject { ["root"] = target.DeepClone() };
        foreach (var operation in operations)
        {
            var op = (string?)operation?["op"] ?? throw ApiException.BadRequest("json patch operation without \"op\"");
            var path = (string?)operation!["path"] ?? throw ApiException.BadRequest($"json patch {op} without \"path\"");
            switch (op)
            {
                case "add":
                    Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "replace":
                    Remove(document, path);
                    Add(document, path, operation["value"]?.DeepClone());
                    break;
                case "move":
                    var moved = Remove(document, (string?)operation["from"] ?? throw ApiException.BadRequest("json patch move without \"from\""));
                    Add(document, path, moved);
                    break;
                case "copy":
                    Add(document, path, Resolve(document, (string?)operation["from"] ?? throw ApiException.BadRequest("json patch copy without \"from\""))?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(document, path), operation["value"]))
                    {
                        throw new ApiException(422, "Invalid", $"the json patch test at {path} failed");
                    }

                    break;
                default:
                    throw ApiException.BadRequest($"unknown json patch operation \"{op}\"");
            }
        }

        return document["root"]!;
    }

    private static (JsonNode Parent, string Last) Locate(JsonObject document, string pointer)
    {
        if (pointer.Length > 0 && pointer[0] != '/')
        {
            throw ApiException.BadRequest($"json patch path \"{pointer}\" must start with /");
        }

        var segments = ("root" + pointer).Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        JsonNode current = document;
        foreach (var segment in segments[..^1])
        {
            current = Child(current, segment) ?? throw new ApiException(422, "Invalid", $"json patch path \"{pointer}\" does not exist");
        }

        return (current, segments[^1]);
    }

    private static JsonNode? Child(JsonNode node, string segment) => node switch
    {
        JsonObject o => o[segment],
        JsonArray a when int.TryParse(segment, out var i) && i >= 0 && i < a.Count => a[i],
        _ => null,
    };

    private static JsonNode? Resolve(JsonObject document, string pointer)
    {
        var (parent, last) = Locate(document, pointer);
        return Child(parent, last);
    }

    private static void Add(JsonObject document, string pointer, JsonNode? value)
    {
        var (parent, last) = Locate(document, pointer);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new ApiException(422, "Invalid", $"json patch cannot add at \"{pointer}\"");
        }
    }

    private static JsonNode? Remove(JsonObject document, string pointer)
    {
        var (parent, last) = Locate(document, pointer);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                var value = o[last];
                o.Remove(last);
                return value;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                var item = a[i];
                a.RemoveAt(i);
                return item;
            default:
                throw new ApiException(422, "Invalid", $"json patch path \"{pointer}\" does not exist");
        }
    }
}
