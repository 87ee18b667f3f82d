using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>The scale subresource of a resource: where its replica counts and selector live.</summary>
/// <param name="SpecReplicasPath">JSONPath of the desired count, for example <c>.spec.replicas</c>.</param>
/// <param name="StatusReplicasPath">JSONPath of the observed count.</param>
/// <param name="LabelSelectorPath">JSONPath of the serialized selector, or null.</param>
public sealed record ScaleSubresource(string SpecReplicasPath, string StatusReplicasPath, string? LabelSelectorPath);

/// <summary>A printer column of <c>kubectl get</c>.</summary>
/// <param name="Name">Header.</param>
/// <param name="Type">OpenAPI type of the value.</param>
/// <param name="JsonPath">Simple JSONPath into the object.</param>
/// <param name="Description">What the column shows.</param>
/// <param name="Priority">0 for the default view, higher for <c>-o wide</c>.</param>
/// <param name="Format">Optional OpenAPI format.</param>
public sealed record PrinterColumn(string Name, string Type, string JsonPath, string Description, int Priority, string? Format);

/// <summary>A kind of object the server stores and serves, built in or from a CustomResourceDefinition.</summary>
public sealed record ResourceType
{
    /// <summary>API group, empty for the core group.</summary>
    public required string Group { get; init; }

    /// <summary>API version within the group.</summary>
    public required string Version { get; init; }

    /// <summary>The kind.</summary>
    public required string Kind { get; init; }

    /// <summary>Lower-case plural used in URLs.</summary>
    public required string Plural { get; init; }

    /// <summary>Lower-case singular.</summary>
    public required string Singular { get; init; }

    /// <summary>True when objects live in a namespace.</summary>
    public required bool Namespaced { get; init; }

    /// <summary>Short names for kubectl.</summary>
    public IReadOnlyList<string> ShortNames { get; init; } = [];

    /// <summary>Categories for kubectl.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>True when status is written only through the <c>/status</c> subresource.</summary>
    public bool HasStatusSubresource { get; init; }

    /// <summary>The scale subresource, or null.</summary>
    public ScaleSubresource? Scale { get; init; }

    /// <summary>The structural OpenAPI schema of a custom resource, or null for built-in kinds.</summary>
    public JsonObject? Schema { get; init; }

    /// <summary>Printer columns beyond Name.</summary>
    public IReadOnlyList<PrinterColumn> PrinterColumns { get; init; } = [];

    /// <summary>Name of the CRD that defines the type, or null for built-in kinds.</summary>
    public string? DefinedBy { get; init; }

    /// <summary>The <c>apiVersion</c> field of objects of this type.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Key that identifies the type regardless of version: plural.group.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>Human form used in error messages, as the real server writes it (<c>pods</c>, <c>depindeployments.depin.dev</c>).</summary>
    public override string ToString() => GroupResource;
}
