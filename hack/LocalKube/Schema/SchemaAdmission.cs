using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Schema;

/// <summary>
/// Admits objects as the API server does for custom resources: unknown fields pruned, defaults applied,
/// then the structural schema checked (types, required, enum, bounds, pattern, lengths, item counts,
/// list uniqueness). CEL rules (<c>x-kubernetes-validations</c>) are not evaluated here. Names of every
/// object are checked against the DNS rules of their kind.
/// </summary>
public sealed partial class SchemaAdmission : IAdmission
{
    private readonly Dictionary<string, Regex> _patterns = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <inheritdoc/>
    public void Admit(ResourceType type, JsonObject obj, JsonObject? old, WriteOptions options)
    {
        var name = (string?)obj["metadata"]?["name"] ?? "";
        var errors = new List<FieldError>();
        CheckName(type, name, errors);
        if (type.GroupResource == "secrets" && obj["stringData"] is JsonObject stringData)
        {
            // As the real server does: stringData is written into data, base64-encoded, and never stored.
            if (obj["data"] is not JsonObject data)
            {
                obj["data"] = data = [];
            }

            foreach (var (key, value) in stringData)
            {
                data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes((string?)value ?? ""));
            }

            obj.Remove("stringData");
        }

        if (type.Schema is { } schema)
        {
            var unknown = new List<string>();
            Prune(obj, schema, "", unknown, root: true);
            ApplyDefaults(obj, schema);
            Validate(obj, schema, "", errors, root: true);
            if (unknown.Count > 0)
            {
                switch (options.FieldValidation)
                {
                    case FieldValidation.Strict:
                        errors.AddRange(unknown.Select(f => new FieldError(f, "FieldValueInvalid", $"Invalid value: unknown field \"{f}\"")));
                        break;
                    case FieldValidation.Warn:
                        options.Warnings.AddRange(unknown.Select(f => $"unknown field \"{f}\""));
                        break;
                }
            }
        }

        if (type.Group == "apiextensions.k8s.io" && type.Plural == "customresourcedefinitions")
        {
            CheckCrd(obj, name, errors);
        }

        if (errors.Count > 0)
        {
            throw ApiException.Invalid(type, name, errors);
        }
    }

    private static void CheckName(ResourceType type, string name, List<FieldError> errors)
    {
        var isLabel = type.Plural is "namespaces" or "services";
        if (isLabel ? !DnsLabel().IsMatch(name) || name.Length > 63 : !DnsSubdomain().IsMatch(name) || name.Length > 253)
        {
            var rule = isLabel
                ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
            errors.Add(new FieldError("metadata.name", "FieldValueInvalid", $"Invalid value: \"{name}\": {rule}"));
        }
    }

    private static void CheckCrd(JsonObject crd, string name, List<FieldError> errors)
    {
        var spec = crd["spec"] as JsonObject;
        var group = (string?)spec?["group"];
        var plural = (string?)spec?["names"]?["plural"];
        if (string.IsNullOrEmpty(group) || string.IsNullOrEmpty(plural) || string.IsNullOrEmpty((string?)spec?["names"]?["kind"]))
        {
            errors.Add(new FieldError("spec", "FieldValueRequired", "Required value: spec.group, spec.names.plural and spec.names.kind are required"));
            return;
        }

        if (name != $"{plural}.{group}")
        {
            errors.Add(new FieldError("metadata.name", "FieldValueInvalid", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"));
        }

        if (spec!["versions"] is not JsonArray { Count: > 0 } versions || versions.Count(v => (bool?)v!["storage"] == true) != 1)
        {
            errors.Add(new FieldError("spec.versions", "FieldValueInvalid", "Invalid value: must have exactly one version marked as storage version"));
        }
    }

    // Removes fields the schema does not declare, unless it keeps unknown fields there.
    private static void Prune(JsonNode? node, JsonObject schema, string path, List<string> unknown, bool root = false)
    {
        if (node is JsonObject obj && (string?)schema["type"] == "object")
        {
            var properties = schema["properties"] as JsonObject;
            var additional = schema["additionalProperties"] as JsonObject;
            var preserve = (bool?)schema["x-kubernetes-preserve-unknown-fields"] == true;
            foreach (var (key, value) in obj.ToList())
            {
                if (root && key is "apiVersion" or "kind" or "metadata")
                {
                    continue;
                }

                var childPath = Join(path, key);
                if (properties?[key] is JsonObject child)
                {
                    Prune(value, child, childPath, unknown);
                }
                else if (additional is not null)
                {
                    Prune(value, additional, childPath, unknown);
                }
                else if (!preserve)
                {
                    obj.Remove(key);
                    unknown.Add(childPath);
                }
            }
        }
        else if (node is JsonArray array && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Prune(array[i], items, $"{path}[{i}]", unknown);
            }
        }
    }

    // Fills in defaults of absent properties, depth first, as the API server does on read and write.
    private static void ApplyDefaults(JsonNode? node, JsonObject schema)
    {
        if (node is JsonObject obj && schema["properties"] is JsonObject properties)
        {
            foreach (var (key, child) in properties)
            {
                if (!obj.ContainsKey(key) && child!["default"] is { } value)
                {
                    obj[key] = value.DeepClone();
                }

                if (obj[key] is { } present)
                {
                    ApplyDefaults(present, child!.AsObject());
                }
            }
        }
        else if (node is JsonObject map && schema["additionalProperties"] is JsonObject values)
        {
            foreach (var (_, value) in map)
            {
                ApplyDefaults(value, values);
            }
        }
        else if (node is JsonArray array && schema["items"] is JsonObject items)
        {
            foreach (var item in array)
            {
                ApplyDefaults(item, items);
            }
        }
    }

    private void Validate(JsonNode? node, JsonObject schema, string path, List<FieldError> errors, bool root = false)
    {
        var type = (string?)schema["type"];
        var intOrString = (bool?)schema["x-kubernetes-int-or-string"] == true;
        if (node is null)
        {
            if ((bool?)schema["nullable"] != true)
            {
                errors.Add(new FieldError(path, "FieldValueTypeInvalid", $"Invalid value: \"null\": {path} in body must be of type {type ?? "int-or-string"}: \"null\""));
            }

            return;
        }

        var actual = TypeOf(node);
        if (intOrString)
        {
            if (actual is not ("integer" or "string"))
            {
                errors.Add(new FieldError(path, "FieldValueTypeInvalid", $"Invalid value: \"{actual}\": {path} in body must be of type integer or string: \"{actual}\""));
                return;
            }
        }
        else if (type is not null && actual != type && !(type == "number" && actual == "integer"))
        {
            errors.Add(new FieldError(path, "FieldValueTypeInvalid", $"Invalid value: \"{actual}\": {path} in body must be of type {type}: \"{actual}\""));
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, node)))
        {
            errors.Add(new FieldError(path, "FieldValueNotSupported", $"Unsupported value: {node.ToJsonString()}: supported values: {string.Join(", ", allowed.Select(a => a!.ToJsonString()))}"));
        }

        switch (node)
        {
            case JsonObject obj:
                ValidateObject(obj, schema, path, errors, root);
                break;
            case JsonArray array:
                ValidateArray(array, schema, path, errors);
                break;
            case JsonValue value when actual == "string":
                ValidateString(value.GetValue<string>(), schema, path, errors);
                break;
            case JsonValue value when actual is "integer" or "number":
                ValidateNumber(value, schema, path, errors);
                break;
        }
    }

    private void ValidateObject(JsonObject obj, JsonObject schema, string path, List<FieldError> errors, bool root)
    {
        foreach (var required in schema["required"]?.AsArray() ?? [])
        {
            if (!obj.ContainsKey((string)required!))
            {
                errors.Add(new FieldError(Join(path, (string)required!), "FieldValueRequired", "Required value"));
            }
        }

        if (schema["maxProperties"] is JsonValue maxProperties && obj.Count > (int)maxProperties)
        {
            errors.Add(new FieldError(path, "FieldValueTooMany", $"Too many: {obj.Count}: must have at most {(int)maxProperties} items"));
        }

        if (schema["minProperties"] is JsonValue minProperties && obj.Count < (int)minProperties)
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: {obj.Count}: {path} in body should have at least {(int)minProperties} properties"));
        }

        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        foreach (var (key, value) in obj)
        {
            if (root && key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }

            if (properties?[key] is JsonObject child)
            {
                Validate(value, child, Join(path, key), errors);
            }
            else if (additional is not null)
            {
                Validate(value, additional, Join(path, key), errors);
            }
        }
    }

    private void ValidateArray(JsonArray array, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["maxItems"] is JsonValue maxItems && array.Count > (int)maxItems)
        {
            errors.Add(new FieldError(path, "FieldValueTooMany", $"Too many: {array.Count}: must have at most {(int)maxItems} items"));
        }

        if (schema["minItems"] is JsonValue minItems && array.Count < (int)minItems)
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: {array.Count}: {path} in body should have at least {(int)minItems} items"));
        }

        if (schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Validate(array[i], items, $"{path}[{i}]", errors);
            }
        }

        switch ((string?)schema["x-kubernetes-list-type"])
        {
            case "set":
                for (var i = 0; i < array.Count; i++)
                {
                    if (array.Take(i).Any(prior => JsonNode.DeepEquals(prior, array[i])))
                    {
                        errors.Add(new FieldError($"{path}[{i}]", "FieldValueDuplicate", $"Duplicate value: {array[i]?.ToJsonString()}"));
                    }
                }

                break;
            case "map":
                var keys = schema["x-kubernetes-list-map-keys"]?.AsArray().Select(k => (string)k!).ToList() ?? [];
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < array.Count; i++)
                {
                    var identity = string.Join("\u0000", keys.Select(k => array[i]?[k]?.ToJsonString() ?? ""));
                    if (!seen.Add(identity))
                    {
                        var shown = string.Join(",", keys.Select(k => $"\"{k}\":{array[i]?[k]?.ToJsonString()}"));
                        errors.Add(new FieldError($"{path}[{i}]", "FieldValueDuplicate", $"Duplicate value: map[string]interface {{}}{{{shown}}}"));
                    }
                }

                break;
        }
    }

    private void ValidateString(string value, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["maxLength"] is JsonValue maxLength && value.Length > (int)maxLength)
        {
            errors.Add(new FieldError(path, "FieldValueTooLong", $"Too long: may not be more than {(int)maxLength} bytes"));
        }

        if (schema["minLength"] is JsonValue minLength && value.Length < (int)minLength)
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: \"{value}\": {path} in body should be at least {(int)minLength} chars long"));
        }

        if (schema["pattern"] is JsonValue pattern && !Pattern((string)pattern!).IsMatch(value))
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: \"{value}\": {path} in body should match '{(string)pattern!}'"));
        }

        if ((string?)schema["format"] == "date-time" && !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: \"{value}\": {path} in body must be of type date-time: \"{value}\""));
        }
    }

    private static void ValidateNumber(JsonValue value, JsonObject schema, string path, List<FieldError> errors)
    {
        var number = value.GetValue<double>();
        var shown = value.ToJsonString();
        if (schema["minimum"] is JsonValue minimum && number < minimum.GetValue<double>())
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: {shown}: {path} in body should be greater than or equal to {minimum.ToJsonString()}"));
        }

        if (schema["maximum"] is JsonValue maximum && number > maximum.GetValue<double>())
        {
            errors.Add(new FieldError(path, "FieldValueInvalid", $"Invalid value: {shown}: {path} in body should be less than or equal to {maximum.ToJsonString()}"));
        }
    }

    private static string TypeOf(JsonNode node) => node switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => IsIntegral(v) ? "integer" : "number",
            _ => "null",
        },
        _ => "null",
    };

    private static bool IsIntegral(JsonValue value)
    {
        var text = value.ToJsonString();
        return !text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase);
    }

    private Regex Pattern(string pattern)
    {
        lock (_lock)
        {
            if (!_patterns.TryGetValue(pattern, out var regex))
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                _patterns[pattern] = regex;
            }

            return regex;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
