using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>Checks, defaults and prunes an object before the store keeps it.</summary>
public interface IAdmission
{
    /// <summary>Admits a new or changed object, or throws a 422 <see cref="ApiException"/>.</summary>
    /// <param name="type">Its resource type.</param>
    /// <param name="obj">The object as it will be stored; may be changed in place (defaults, pruning).</param>
    /// <param name="old">The stored object it replaces, or null on create.</param>
    /// <param name="options">How strict to be, and where warnings go.</param>
    void Admit(ResourceType type, JsonObject obj, JsonObject? old, WriteOptions options);
}

/// <summary>What to do with fields the schema does not know (the <c>fieldValidation</c> query parameter).</summary>
public enum FieldValidation
{
    /// <summary>Drop them silently.</summary>
    Ignore,

    /// <summary>Drop them and return a warning.</summary>
    Warn,

    /// <summary>Refuse the request.</summary>
    Strict,
}

/// <summary>Options of one write request.</summary>
public sealed class WriteOptions
{
    /// <summary>Options of an internal write: unknown fields dropped with no warning.</summary>
    public static WriteOptions Internal => new();

    /// <summary>What to do with unknown fields.</summary>
    public FieldValidation FieldValidation { get; init; } = FieldValidation.Ignore;

    /// <summary>Warnings for the <c>Warning</c> response header.</summary>
    public List<string> Warnings { get; } = [];
}
