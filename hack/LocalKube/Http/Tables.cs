using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>meta.k8s.io/v1 Table responses, which <c>kubectl get</c> prints.</summary>
public static class Tables
{
    /// <summary>Whether the Accept header asks for a Table.</summary>
    /// <param name="accept">The Accept header.</param>
    /// <returns>True when a Table is wanted.</returns>
    public static bool Wanted(string? accept) => accept?.Contains("as=Table", StringComparison.Ordinal) == true;

    /// <summary>The columns of a type.</summary>
    /// <param name="type">The type.</param>
    /// <returns>Column definitions, Name first.</returns>
    public static IReadOnlyList<PrinterColumn> Columns(ResourceType type)
    {
        var name = new PrinterColumn("Name", "string", ".metadata.name", "Name must be unique within a namespace.", 0, "name");
        var age = new PrinterColumn("Age", "date", ".metadata.creationTimestamp", "CreationTimestamp of the object.", 0, null);
        if (type.DefinedBy is not null)
        {
            return type.PrinterColumns.Count > 0 ? [name, .. type.PrinterColumns] : [name, age];
        }

        return type.GroupResource switch
        {
            "pods" =>
            [
                name,
                new("Ready", "string", "", "The number of ready containers out of all containers.", 0, null),
                new("Status", "string", ".status.phase", "The phase of the pod.", 0, null),
                new("Restarts", "string", "", "Container restarts.", 0, null),
                age,
                new("IP", "string", ".status.podIP", "Pod IP.", 1, null),
                new("Node", "string", ".spec.nodeName", "Node the pod is bound to.", 1, null),
            ],
            "nodes" =>
            [
                name,
                new("Status", "string", "", "Ready condition of the node.", 0, null),
                new("Roles", "string", "", "Roles of the node.", 0, null),
                age,
                new("Version", "string", ".status.nodeInfo.kubeletVersion", "Kubelet version.", 0, null),
            ],
            "namespaces" => [name, new("Status", "string", ".status.phase", "Phase of the namespace.", 0, null), age],
            "events" =>
            [
                new("Last Seen", "date", ".lastTimestamp", "Last time the event was seen.", 0, null),
                new("Type", "string", ".type", "Type of the event.", 0, null),
                new("Reason", "string", ".reason", "Reason of the event.", 0, null),
                new("Object", "string", "", "The object the event is about.", 0, null),
                new("Message", "string", ".message", "The message.", 0, null),
            ],
            _ => [name, age],
        };
    }

    /// <summary>A Table of objects.</summary>
    /// <param name="type">Their type.</param>
    /// <param name="items">The objects as JSON.</param>
    /// <param name="resourceVersion">resourceVersion of the list.</param>
    /// <param name="includeObject">None, Object or PartialObjectMetadata (the default).</param>
    /// <param name="now">The time ages are measured from.</param>
    /// <param name="withColumns">False for watch events after the first, as the real server sends them.</param>
    /// <returns>The Table.</returns>
    public static JsonObject Build(ResourceType type, IEnumerable<JsonObject> items, string resourceVersion, string? includeObject, DateTimeOffset now, bool withColumns = true)
    {
        var columns = Columns(type);
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray([.. columns.Select(c => Cell(type, c, item, now))]);
            var row = new JsonObject { ["cells"] = cells };
            switch (includeObject)
            {
                case "None":
                    break;
                case "Object":
                    row["object"] = item.DeepClone();
                    break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = item["metadata"]?.DeepClone(),
                    };
                    break;
            }

            rows.Add(row);
        }

        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
        };
        if (withColumns)
        {
            table["columnDefinitions"] = new JsonArray([.. columns.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type == "date" ? "string" : c.Type,
                ["format"] = c.Format ?? "",
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            })]);
        }

        table["rows"] = rows;
        return table;
    }

    private static JsonNode? Cell(ResourceType type, PrinterColumn column, JsonObject item, DateTimeOffset now)
    {
        switch (type.GroupResource, column.Name)
        {
            case ("pods", "Ready"):
                var statuses = item["status"]?["containerStatuses"] as JsonArray ?? [];
                var total = (item["spec"]?["containers"] as JsonArray)?.Count ?? statuses.Count;
                return $"{statuses.Count(s => (bool?)s!["ready"] == true)}/{total}";
            case ("pods", "Restarts"):
                return (item["status"]?["containerStatuses"] as JsonArray ?? []).Sum(s => (int?)s!["restartCount"] ?? 0).ToString(CultureInfo.InvariantCulture);
            case ("nodes", "Status"):
                var ready = (item["status"]?["conditions"] as JsonArray ?? []).FirstOrDefault(c => (string?)c!["type"] == "Ready");
                var status = (string?)ready?["status"] == "True" ? "Ready" : "NotReady";
                return (bool?)item["spec"]?["unschedulable"] == true ? status + ",SchedulingDisabled" : status;
            case ("nodes", "Roles"):
                var roles = (item["metadata"]?["labels"] as JsonObject ?? [])
                    .Where(l => l.Key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal))
                    .Select(l => l.Key["node-role.kubernetes.io/".Length..]).ToList();
                return roles.Count == 0 ? "<none>" : string.Join(",", roles);
            case ("events", "Object"):
                return $"{((string?)item["involvedObject"]?["kind"])?.ToLowerInvariant()}/{(string?)item["involvedObject"]?["name"]}";
        }

        var value = JsonPathLite.Evaluate(item, column.JsonPath);
        if (value is null)
        {
            return null;
        }

        if (column.Type == "date" && value is JsonValue v && v.GetValueKind() == JsonValueKind.String
            && DateTimeOffset.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return HumanDuration(now - time);
        }

        return value.DeepClone();
    }

    /// <summary>An age as kubectl shows it: 45s, 3m20s, 17m, 5h10m, 3d4h, 120d.</summary>
    /// <param name="age">The age.</param>
    /// <returns>Short text.</returns>
    public static string HumanDuration(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        var seconds = (long)age.TotalSeconds;
        return seconds switch
        {
            < 120 => $"{seconds}s",
            < 600 => seconds % 60 == 0 ? $"{seconds / 60}m" : $"{seconds / 60}m{seconds % 60}s",
            < 3 * 3600 => $"{seconds / 60}m",
            < 8 * 3600 => (seconds / 60) % 60 == 0 ? $"{seconds / 3600}h" : $"{seconds / 3600}h{(seconds / 60) % 60}m",
            < 48 * 3600 => $"{seconds / 3600}h",
            < 8 * 86400 => (seconds / 3600) % 24 == 0 ? $"{seconds / 86400}d" : $"{seconds / 86400}d{(seconds / 3600) % 24}h",
            < 2 * 365 * 86400 => $"{seconds / 86400}d",
            _ => $"{seconds / (365 * 86400)}y",
        };
    }
}

/// <summary>The JSONPath subset printer columns use: <c>.a.b</c>, <c>[0]</c> and <c>[?(@.type=="Ready")]</c>.</summary>
public static class JsonPathLite
{
    /// <summary>Evaluates a path; the first match, or null.</summary>
    /// <param name="root">The object.</param>
    /// <param name="path">The path.</param>
    /// <returns>The value, or null.</returns>
    public static JsonNode? Evaluate(JsonNode root, string path)
    {
        JsonNode? current = root;
        var i = 0;
        path = path.Trim().TrimStart('{').TrimEnd('}');
        while (current is not null && i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = i + 1;
                while (end < path.Length && path[end] != '.' && path[end] != '[')
                {
                    end++;
                }

                var key = path[(i + 1)..end];
                current = key.Length == 0 ? current : current[key];
                i = end;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0)
                {
                    return null;
                }

                var inner = path[(i + 1)..end];
                current = Index(current, inner);
                i = end + 1;
            }
            else
            {
                return null;
            }
        }

        return current;
    }

    private static JsonNode? Index(JsonNode node, string inner)
    {
        if (node is not JsonArray array)
        {
            return null;
        }

        if (int.TryParse(inner, out var index))
        {
            return index >= 0 && index < array.Count ? array[index] : null;
        }

        // ?(@.key=="value")
        if (inner.StartsWith("?(@.", StringComparison.Ordinal) && inner.EndsWith(')'))
        {
            var body = inner[4..^1];
            var at = body.IndexOf("==", StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var key = body[..at].Trim();
            var expected = body[(at + 2)..].Trim().Trim('"', '\'');
            return array.FirstOrDefault(item => item?[key] is JsonValue v && v.ToString() == expected);
        }

        return inner == "*" && array.Count > 0 ? array[0] : null;
    }
}
