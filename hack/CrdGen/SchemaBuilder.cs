using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DePin.Api.Schema;
using k8s.Models;

namespace DePin.CrdGen;

/// <summary>
/// Turns C# types into a structural OpenAPI v3 schema as the Kubernetes API server wants it: every
/// node typed, no type arrays, unknown fields kept only where Kubernetes keeps them itself.
/// </summary>
/// <param name="docs">Where descriptions come from.</param>
public sealed class SchemaBuilder(XmlDocs docs)
{
    private const string QuantityPattern =
        @"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

    private readonly HashSet<Type> _inProgress = [];

    /// <summary>The schema of a whole custom resource: apiVersion, kind, metadata, spec and status.</summary>
    /// <param name="resource">The resource type.</param>
    /// <returns>The <c>openAPIV3Schema</c> node.</returns>
    public JsonObject ForResource(Type resource)
    {
        return ForObject(resource, topLevel: true);
    }

    private JsonObject ForObject(Type type, bool topLevel = false)
    {
        if (!_inProgress.Add(type))
        {
            throw new InvalidOperationException($"{type.Name} refers to itself; a structural schema cannot express recursion");
        }

        try
        {
            var schema = new JsonObject();
            var description = Describe(type);
            if (description is not null)
            {
                schema["description"] = description;
            }

            schema["type"] = "object";
            var properties = new JsonObject();
            var required = new JsonArray();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetCustomAttribute<JsonIgnoreAttribute>() is not null || property.GetIndexParameters().Length > 0)
                {
                    continue;
                }

                var name = JsonName(property);
                properties[name] = topLevel && name == "metadata"
                    ? new JsonObject { ["type"] = "object" }
                    : ForProperty(property);
                if (property.GetCustomAttribute<RequiredAttribute>() is not null)
                {
                    required.Add(name);
                }
            }

            if (properties.Count > 0)
            {
                schema["properties"] = properties;
            }

            if (required.Count > 0)
            {
                schema["required"] = required;
            }

            AddRules(schema, type.GetCustomAttributes<CelRuleAttribute>());
            return schema;
        }
        finally
        {
            _inProgress.Remove(type);
        }
    }

    private JsonObject ForProperty(PropertyInfo property)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var schema = ForType(type, property);

        // A property's own summary says more about its role than the summary of its type.
        var description = Describe(property);
        if (description is not null && type.IsEnum)
        {
            description += " " + DescribeValues(type);
        }

        if (description is not null)
        {
            schema = Prepend(schema, "description", description);
        }

        var itemTarget = ItemTarget(schema);
        if (property.GetCustomAttribute<PatternAttribute>() is { } pattern)
        {
            itemTarget["pattern"] = pattern.Regex;
        }

        if (property.GetCustomAttribute<LengthAttribute>() is { } length)
        {
            if (length.Min >= 0)
            {
                itemTarget["minLength"] = length.Min;
            }

            if (length.Max >= 0)
            {
                itemTarget["maxLength"] = length.Max;
            }
        }

        if (property.GetCustomAttribute<FormatAttribute>() is { } format)
        {
            itemTarget["format"] = format.Format;
        }

        if (property.GetCustomAttribute<MinimumAttribute>() is { } minimum)
        {
            schema["minimum"] = Number(minimum.Value);
        }

        if (property.GetCustomAttribute<MaximumAttribute>() is { } maximum)
        {
            schema["maximum"] = Number(maximum.Value);
        }

        if (property.GetCustomAttribute<ItemsAttribute>() is { } items)
        {
            var isMap = (string?)schema["type"] == "object";
            if (items.Min >= 0)
            {
                schema[isMap ? "minProperties" : "minItems"] = items.Min;
            }

            if (items.Max >= 0)
            {
                schema[isMap ? "maxProperties" : "maxItems"] = items.Max;
            }
        }

        if (property.GetCustomAttribute<DefaultAttribute>() is { } defaultValue)
        {
            schema["default"] = JsonValue.Create(defaultValue.Value) ?? throw new InvalidOperationException($"{property.Name}: null default");
        }

        if (property.GetCustomAttribute<DefaultEmptyObjectAttribute>() is not null)
        {
            schema["default"] = new JsonObject();
        }

        if (property.GetCustomAttribute<ListTypeAttribute>() is { } listType)
        {
            schema["x-kubernetes-list-type"] = listType.Type;
            if (listType.MapKeys.Count > 0)
            {
                schema["x-kubernetes-list-map-keys"] = new JsonArray([.. listType.MapKeys.Select(k => (JsonNode)k)]);
            }
        }

        if (property.GetCustomAttribute<PreserveUnknownFieldsAttribute>() is not null)
        {
            schema["x-kubernetes-preserve-unknown-fields"] = true;
        }

        AddRules(schema, property.GetCustomAttributes<CelRuleAttribute>());
        return schema;
    }

    private JsonObject ForType(Type type, PropertyInfo? context)
    {
        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }

        if (type == typeof(int) || type == typeof(short))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = "int32" };
        }

        if (type == typeof(long))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = "int64" };
        }

        if (type == typeof(double) || type == typeof(float))
        {
            return new JsonObject { ["type"] = "number", ["format"] = "double" };
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        }

        if (type == typeof(byte[]))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "byte" };
        }

        if (type == typeof(IntOrString))
        {
            return IntOrString();
        }

        if (type == typeof(ResourceQuantity))
        {
            var schema = IntOrString();
            schema["pattern"] = QuantityPattern;
            return schema;
        }

        if (type.IsEnum)
        {
            return ForEnum(type);
        }

        if (type == typeof(V1Condition))
        {
            return Condition();
        }

        if (type == typeof(V1ObjectMeta))
        {
            return EmbeddedObjectMeta();
        }

        if (type == typeof(object) || type == typeof(JsonElement) || type == typeof(JsonNode))
        {
            // A value of any shape; Kubernetes does the same for its free-form fields.
            return new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = ForType(Nullable.GetUnderlyingType(valueType) ?? valueType, null),
            };
        }

        if (ListItemType(type) is { } itemType)
        {
            return new JsonObject
            {
                ["type"] = "array",
                ["items"] = ForType(Nullable.GetUnderlyingType(itemType) ?? itemType, null),
            };
        }

        if (type.IsClass)
        {
            return ForObject(type);
        }

        throw new NotSupportedException($"no schema mapping for {type} (property {context?.DeclaringType?.Name}.{context?.Name})");
    }

    private static JsonObject ForEnum(Type type)
    {
        var values = new JsonArray();
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            values.Add(field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name);
        }

        return new JsonObject { ["type"] = "string", ["enum"] = values };
    }

    // "One of: A (what A means), B (what B means)." so that kubectl explain lists the values.
    private string DescribeValues(Type type)
    {
        var values = type.GetFields(BindingFlags.Public | BindingFlags.Static).Select(field =>
        {
            var name = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name;
            var doc = docs.Of(field)?.TrimEnd('.');
            return doc is null ? name : $"{name} ({LowerFirstWord(doc)})";
        });
        return $"One of: {string.Join("; ", values)}.";
    }

    // "The cheapest..." reads "the cheapest..." mid-sentence; an acronym such as "HTTP over TLS" stays.
    private static string LowerFirstWord(string text) =>
        text.Length > 1 && char.IsUpper(text[0]) && !char.IsUpper(text[1])
            ? char.ToLowerInvariant(text[0]) + text[1..]
            : text;

    private static JsonObject IntOrString() => new()
    {
        ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
        ["x-kubernetes-int-or-string"] = true,
    };

    // The shape of metav1.Condition, with the validation Kubernetes declares on it.
    private static JsonObject Condition() => new()
    {
        ["description"] = "Condition contains details for one aspect of the current state of this API Resource.",
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["type"] = new JsonObject
            {
                ["description"] = "Type of condition in CamelCase.",
                ["type"] = "string",
                ["maxLength"] = 316,
                ["pattern"] = @"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            },
            ["status"] = new JsonObject
            {
                ["description"] = "Status of the condition, one of True, False, Unknown.",
                ["type"] = "string",
                ["enum"] = new JsonArray("True", "False", "Unknown"),
            },
            ["observedGeneration"] = new JsonObject
            {
                ["description"] = "The .metadata.generation that the condition was set based upon.",
                ["type"] = "integer",
                ["format"] = "int64",
                ["minimum"] = 0,
            },
            ["lastTransitionTime"] = new JsonObject
            {
                ["description"] = "Last time the condition transitioned from one status to another.",
                ["type"] = "string",
                ["format"] = "date-time",
            },
            ["reason"] = new JsonObject
            {
                ["description"] = "Programmatic identifier, in CamelCase, of the reason for the condition's last transition.",
                ["type"] = "string",
                ["minLength"] = 1,
                ["maxLength"] = 1024,
                ["pattern"] = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            },
            ["message"] = new JsonObject
            {
                ["description"] = "Human-readable message with details about the transition.",
                ["type"] = "string",
                ["maxLength"] = 32768,
            },
        },
        ["required"] = new JsonArray("type", "status", "lastTransitionTime", "reason", "message"),
    };

    // Pod templates may set these metadata fields; the API server prunes any other.
    private static JsonObject EmbeddedObjectMeta()
    {
        JsonObject StringMap(string description) => new()
        {
            ["description"] = description,
            ["type"] = "object",
            ["additionalProperties"] = new JsonObject { ["type"] = "string" },
        };

        return new JsonObject
        {
            ["description"] = "Metadata given to every pod made from the template.",
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["labels"] = StringMap("Labels of the pods."),
                ["annotations"] = StringMap("Annotations of the pods."),
                ["name"] = new JsonObject { ["description"] = "Ignored: pod names are chosen by the operator.", ["type"] = "string" },
                ["namespace"] = new JsonObject { ["description"] = "Ignored: pods live in the deployment's namespace.", ["type"] = "string" },
                ["finalizers"] = new JsonObject
                {
                    ["description"] = "Finalizers of the pods.",
                    ["type"] = "array",
                    ["items"] = new JsonObject { ["type"] = "string" },
                },
            },
        };
    }

    // Types embedded from the Kubernetes API (the pod template, tolerations, affinity) carry no
    // descriptions: with them the DePinDeployment CRD outgrows the 256 KiB annotation that client-side
    // `kubectl apply` keeps, and `kubectl explain pod.spec` documents them already.
    private string? Describe(PropertyInfo property) => IsKubernetesModel(property.DeclaringType!) ? null : docs.Of(property);

    private string? Describe(Type type) => IsKubernetesModel(type) ? null : docs.Of(type);

    private static bool IsKubernetesModel(Type type) => type.Namespace == typeof(V1Pod).Namespace;

    private static void AddRules(JsonObject schema, IEnumerable<CelRuleAttribute> rules)
    {
        var list = new JsonArray();
        foreach (var rule in rules)
        {
            var node = new JsonObject { ["rule"] = rule.Rule, ["message"] = rule.Message };
            if (rule.FieldPath is not null)
            {
                node["fieldPath"] = rule.FieldPath;
            }

            if (rule.Reason is not null)
            {
                node["reason"] = rule.Reason;
            }

            list.Add(node);
        }

        if (list.Count > 0)
        {
            schema["x-kubernetes-validations"] = list;
        }
    }

    // Pattern and length on a list or map of strings constrain its items or values.
    private static JsonObject ItemTarget(JsonObject schema) => (string?)schema["type"] switch
    {
        "array" => (JsonObject)schema["items"]!,
        "object" when schema["additionalProperties"] is JsonObject values => values,
        _ => schema,
    };

    private static JsonObject Prepend(JsonObject schema, string key, JsonNode value)
    {
        var result = new JsonObject { [key] = value };
        foreach (var (k, v) in schema.ToList())
        {
            if (k == key)
            {
                continue;
            }

            schema.Remove(k);
            result[k] = v;
        }

        return result;
    }

    private static JsonValue Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < long.MaxValue
            ? JsonValue.Create((long)value)
            : JsonValue.Create(value);

    private static Type? DictionaryValueType(Type type)
    {
        var dictionary = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is null)
        {
            return null;
        }

        var args = dictionary.GetGenericArguments();
        return args[0] == typeof(string)
            ? args[1]
            : throw new NotSupportedException($"map keys must be strings: {type}");
    }

    private static Type? ListItemType(Type type)
    {
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    /// <summary>The JSON name of a property, as KubernetesClient's serializer writes it.</summary>
    /// <param name="property">The property.</param>
    /// <returns>The explicit <c>JsonPropertyName</c>, or the camelCase name.</returns>
    public static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
        ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
}
