using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DePin.Api.Schema;

namespace DePin.Api.Tests;

/// <summary>Fills in declared defaults the way the API server does before it stores an object.</summary>
internal static class SchemaDefaults
{
    public static void Apply(JsonObject node, Type type)
    {
        if (type.Namespace?.StartsWith("k8s", StringComparison.Ordinal) == true)
        {
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (!node.ContainsKey(name))
            {
                if (property.GetCustomAttribute<DefaultAttribute>() is { } value)
                {
                    node[name] = JsonValue.Create(value.Value);
                }
                else if (property.IsDefined(typeof(DefaultEmptyObjectAttribute)))
                {
                    node[name] = new JsonObject();
                }
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            switch (node[name])
            {
                case JsonObject child when propertyType.IsClass && !typeof(IEnumerable).IsAssignableFrom(propertyType):
                    Apply(child, propertyType);
                    break;
                case JsonArray items when propertyType.IsGenericType:
                    var itemType = propertyType.GetGenericArguments()[0];
                    foreach (var item in items.OfType<JsonObject>())
                    {
                        Apply(item, itemType);
                    }

                    break;
            }
        }
    }

    /// <summary>The wire name of an enum member.</summary>
    public static string WireName(Enum value) =>
        value.GetType().GetField(value.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString();
}
