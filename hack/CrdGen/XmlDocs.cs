using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DePin.CrdGen;

/// <summary>Summaries from the XML documentation files that the compiler writes next to an assembly.</summary>
public sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries = new(StringComparer.Ordinal);

    /// <summary>Loads the documentation file of each assembly; a missing file is an error, because every field needs a description.</summary>
    /// <param name="assemblies">Assemblies whose documentation to load.</param>
    public XmlDocs(IEnumerable<Assembly> assemblies)
    {
        foreach (var assembly in assemblies)
        {
            var path = Path.ChangeExtension(assembly.Location, ".xml");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"XML documentation of {assembly.GetName().Name} not found; set GenerateDocumentationFile in its project", path);
            }

            foreach (var member in XDocument.Load(path).Descendants("member"))
            {
                var name = member.Attribute("name")?.Value;
                var summary = member.Element("summary");
                if (name is not null && summary is not null)
                {
                    _summaries[name] = Flatten(summary);
                }
            }
        }
    }

    /// <summary>The summary of a property, or null.</summary>
    /// <param name="property">The property.</param>
    /// <returns>One line of plain text, or null when the property has no summary.</returns>
    public string? Of(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{Name(property.DeclaringType!)}.{property.Name}");

    /// <summary>The summary of a type, or null.</summary>
    /// <param name="type">The type.</param>
    /// <returns>One line of plain text, or null when the type has no summary.</returns>
    public string? Of(Type type) => _summaries.GetValueOrDefault($"T:{Name(type)}");

    /// <summary>The summary of an enum member, or null.</summary>
    /// <param name="field">The enum member.</param>
    /// <returns>One line of plain text, or null when the member has no summary.</returns>
    public string? Of(FieldInfo field) =>
        _summaries.GetValueOrDefault($"F:{Name(field.DeclaringType!)}.{field.Name}");

    private static string Name(Type type) => type.FullName!.Replace('+', '.');

    private static string Flatten(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "see" or "seealso" } e =>
                    e.Attribute("langword")?.Value ?? ShortName(e.Attribute("cref")?.Value ?? e.Value),
                XElement { Name.LocalName: "paramref" or "typeparamref" } e => e.Attribute("name")?.Value ?? "",
                XElement e => Flatten(e),
                _ => "",
            });
        }

        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    private static string ShortName(string cref)
    {
        var name = cref.Contains(':', StringComparison.Ordinal) ? cref[(cref.IndexOf(':', StringComparison.Ordinal) + 1)..] : cref;
        return name[(name.LastIndexOf('.') + 1)..];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
