namespace DePin.Api.Schema;

// Attributes that declare OpenAPI v3 validation on the custom resource types. The CRD generator in
// hack/CrdGen reads them; nothing else interprets them, so each maps one-to-one onto a schema keyword.

/// <summary>The property must be present (OpenAPI <c>required</c> on the enclosing object).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;

/// <summary>Inclusive lower bound of a number or integer (OpenAPI <c>minimum</c>).</summary>
/// <param name="value">The smallest allowed value.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinimumAttribute(double value) : Attribute
{
    /// <summary>The smallest allowed value.</summary>
    public double Value { get; } = value;
}

/// <summary>Inclusive upper bound of a number or integer (OpenAPI <c>maximum</c>).</summary>
/// <param name="value">The largest allowed value.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaximumAttribute(double value) : Attribute
{
    /// <summary>The largest allowed value.</summary>
    public double Value { get; } = value;
}

/// <summary>
/// Regular expression a string must match (OpenAPI <c>pattern</c>). On a list or map of strings it
/// applies to every item or value. Keep to the RE2 subset (no look-around, no back-references), which
/// is what the Kubernetes API server accepts.
/// </summary>
/// <param name="regex">The regular expression.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string regex) : Attribute
{
    /// <summary>The regular expression.</summary>
    public string Regex { get; } = regex;
}

/// <summary>
/// Bounds on the length of a string (OpenAPI <c>minLength</c>/<c>maxLength</c>). On a list or map of
/// strings it applies to every item or value.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class LengthAttribute : Attribute
{
    /// <summary>Smallest allowed length; negative means unbounded.</summary>
    public int Min { get; init; } = -1;

    /// <summary>Largest allowed length; negative means unbounded.</summary>
    public int Max { get; init; } = -1;
}

/// <summary>Bounds on the number of items of an array or entries of a map.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAttribute : Attribute
{
    /// <summary>Smallest allowed count; negative means unbounded.</summary>
    public int Min { get; init; } = -1;

    /// <summary>Largest allowed count; negative means unbounded.</summary>
    public int Max { get; init; } = -1;
}

/// <summary>
/// The value the API server fills in when the field is absent (OpenAPI <c>default</c>). The C# property
/// initializer must hold the same value; a unit test checks that the two agree.
/// </summary>
/// <param name="value">The default, as a boolean, number or string.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute(object value) : Attribute
{
    /// <summary>The default value.</summary>
    public object Value { get; } = value;
}

/// <summary>The property defaults to an empty object (<c>default: {}</c>), so that the defaults of its own fields apply.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultEmptyObjectAttribute : Attribute;

/// <summary>OpenAPI <c>format</c> of a string (for example <c>uri</c> or <c>date-time</c>).</summary>
/// <param name="format">The format name.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FormatAttribute(string format) : Attribute
{
    /// <summary>The format name.</summary>
    public string Format { get; } = format;
}

/// <summary>How server-side apply merges a list (<c>x-kubernetes-list-type</c>).</summary>
/// <param name="type"><c>atomic</c>, <c>set</c> or <c>map</c>.</param>
/// <param name="mapKeys">With <c>map</c>, the item fields that identify an item.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListTypeAttribute(string type, params string[] mapKeys) : Attribute
{
    /// <summary><c>atomic</c>, <c>set</c> or <c>map</c>.</summary>
    public string Type { get; } = type;

    /// <summary>With <c>map</c>, the item fields that identify an item.</summary>
    public IReadOnlyList<string> MapKeys { get; } = mapKeys;
}

/// <summary>
/// A CEL rule the API server evaluates on the property's value, or on the object when placed on a
/// class (<c>x-kubernetes-validations</c>). The operator checks the same rules itself, because not
/// every API server it meets evaluates CEL.
/// </summary>
/// <param name="rule">The CEL expression; <c>self</c> is the value, <c>oldSelf</c> the stored one.</param>
/// <param name="message">What the user reads when the rule fails.</param>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    /// <summary>The CEL expression.</summary>
    public string Rule { get; } = rule;

    /// <summary>What the user reads when the rule fails.</summary>
    public string Message { get; } = message;

    /// <summary>Field path reported with the failure, relative to the value (for example <c>.evm</c>).</summary>
    public string? FieldPath { get; init; }

    /// <summary>CamelCase reason reported with the failure, <c>FieldValueInvalid</c> when unset.</summary>
    public string? Reason { get; init; }
}

/// <summary>
/// Keep fields the schema does not name (<c>x-kubernetes-preserve-unknown-fields</c>). Used only where
/// Kubernetes itself does it: free-form values whose shape the API cannot know.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>Short names and categories under which <c>kubectl</c> finds the kind.</summary>
/// <param name="shortNames">Short names, for example <c>dpd</c>.</param>
[AttributeUsage(AttributeTargets.Class)]
public sealed class KubectlNamesAttribute(params string[] shortNames) : Attribute
{
    /// <summary>Short names, for example <c>dpd</c>.</summary>
    public IReadOnlyList<string> ShortNames { get; } = shortNames;

    /// <summary>Category, for example <c>depin</c> so that <c>kubectl get depin</c> lists the kind.</summary>
    public string? Category { get; init; }
}

/// <summary>Whether the kind lives in a namespace or in the cluster.</summary>
/// <param name="namespaced">True for namespaced kinds.</param>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ScopeAttribute(bool namespaced) : Attribute
{
    /// <summary>True for namespaced kinds.</summary>
    public bool Namespaced { get; } = namespaced;
}

/// <summary>A column of <c>kubectl get</c> for the kind (CRD <c>additionalPrinterColumns</c>).</summary>
/// <param name="name">Column header.</param>
/// <param name="type">OpenAPI type of the value: string, integer, number, boolean or date.</param>
/// <param name="jsonPath">Simple JSONPath into the object, for example <c>.status.phase</c>.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    /// <summary>Column header.</summary>
    public string Name { get; } = name;

    /// <summary>OpenAPI type of the value.</summary>
    public string Type { get; } = type;

    /// <summary>JSONPath into the object.</summary>
    public string JsonPath { get; } = jsonPath;

    /// <summary>What the column shows.</summary>
    public string? Description { get; init; }

    /// <summary>0 shows the column in the default view, higher only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }

    /// <summary>Optional OpenAPI format of the value.</summary>
    public string? Format { get; init; }
}

/// <summary>
/// The scale subresource (<c>kubectl scale</c>, HorizontalPodAutoscaler): where the desired and
/// observed replica counts and the label selector live.
/// </summary>
/// <param name="specReplicasPath">JSONPath of the desired count, for example <c>.spec.replicas</c>.</param>
/// <param name="statusReplicasPath">JSONPath of the observed count.</param>
/// <param name="labelSelectorPath">JSONPath of the serialized label selector.</param>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ScaleSubresourceAttribute(string specReplicasPath, string statusReplicasPath, string labelSelectorPath) : Attribute
{
    /// <summary>JSONPath of the desired count.</summary>
    public string SpecReplicasPath { get; } = specReplicasPath;

    /// <summary>JSONPath of the observed count.</summary>
    public string StatusReplicasPath { get; } = statusReplicasPath;

    /// <summary>JSONPath of the serialized label selector.</summary>
    public string LabelSelectorPath { get; } = labelSelectorPath;
}
