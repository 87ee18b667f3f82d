using System.Reflection;
using DePin.Api.Schema;
using DePin.Api.V1Alpha1;

namespace DePin.Api.Tests;

public sealed class DefaultsTests
{
    public static TheoryData<string, string> DefaultedProperties()
    {
        var data = new TheoryData<string, string>();
        foreach (var type in ApiTypes())
        {
            foreach (var property in type.GetProperties())
            {
                if (property.IsDefined(typeof(DefaultAttribute)) || property.IsDefined(typeof(DefaultEmptyObjectAttribute)))
                {
                    data.Add(type.Name, property.Name);
                }
            }
        }

        return data;
    }

    [Fact]
    public void DefaultedProperties_Exist()
    {
        Assert.True(DefaultedProperties().Count >= 10);
    }

    [Theory]
    [MemberData(nameof(DefaultedProperties))]
    public void NewObject_PropertyInitializer_EqualsSchemaDefault(string typeName, string propertyName)
    {
        var type = ApiTypes().Single(t => t.Name == typeName);
        var property = type.GetProperty(propertyName)!;
        var value = property.GetValue(Activator.CreateInstance(type));

        if (property.IsDefined(typeof(DefaultEmptyObjectAttribute)))
        {
            Assert.NotNull(value);
            return;
        }

        var expected = property.GetCustomAttribute<DefaultAttribute>()!.Value;
        var actual = value is Enum e ? SchemaDefaults.WireName(e) : value;
        Assert.Equal(expected, actual);
    }

    private static IEnumerable<Type> ApiTypes() =>
        typeof(DePinDeployment).Assembly.GetTypes().Where(t => t is { IsClass: true, IsPublic: true, Namespace: "DePin.Api.V1Alpha1" });
}
