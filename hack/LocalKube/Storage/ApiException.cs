using System.Text.Json.Nodes;

namespace DePin.LocalKube.Storage;

/// <summary>A failure that the API returns as a <c>Status</c> object.</summary>
public sealed class ApiException : Exception
{
    /// <summary>Creates the failure.</summary>
    /// <param name="code">HTTP status code.</param>
    /// <param name="reason">StatusReason, for example <c>NotFound</c>.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="details">Optional <c>details</c> (name, group, kind, causes).</param>
    public ApiException(int code, string reason, string message, JsonObject? details = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    /// <summary>Creates a failure without details.</summary>
    public ApiException()
        : this(500, "InternalError", "internal error")
    {
    }

    /// <summary>Creates a failure with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ApiException(string message)
        : this(500, "InternalError", message)
    {
    }

    /// <summary>Creates a failure wrapping another.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = 500;
        Reason = "InternalError";
    }

    /// <summary>HTTP status code.</summary>
    public int Code { get; }

    /// <summary>StatusReason.</summary>
    public string Reason { get; } = "InternalError";

    /// <summary>Details, or null.</summary>
    public JsonObject? Details { get; }

    /// <summary>The <c>Status</c> object the API returns.</summary>
    /// <returns>A new JSON object.</returns>
    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
        };
        if (Details is not null)
        {
            status["details"] = Details.DeepClone();
        }

        status["code"] = Code;
        return status;
    }

    /// <summary>404: the object does not exist.</summary>
    public static ApiException NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type} \"{name}\" not found", Identify(type, name));

    /// <summary>409: an object of that name exists.</summary>
    public static ApiException AlreadyExists(ResourceType type, string name) =>
        new(409, "AlreadyExists", $"{type} \"{name}\" already exists", Identify(type, name));

    /// <summary>409: the resourceVersion is stale.</summary>
    public static ApiException Conflict(ResourceType type, string name) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {type} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", Identify(type, name));

    /// <summary>422: the object fails validation.</summary>
    /// <param name="type">The resource type.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="causes">One per invalid field.</param>
    public static ApiException Invalid(ResourceType type, string name, IReadOnlyList<FieldError> causes)
    {
        var details = Identify(type, name);
        details["causes"] = new JsonArray([.. causes.Select(c => (JsonNode)new JsonObject
        {
            ["reason"] = c.Reason,
            ["message"] = c.Detail,
            ["field"] = c.Field,
        })]);
        var summary = causes.Count == 1 ? causes[0].ToString() : $"[{string.Join(", ", causes)}]";
        var kind = type.Group.Length == 0 ? type.Kind : $"{type.Kind}.{type.Group}";
        return new ApiException(422, "Invalid", $"{kind} \"{name}\" is invalid: {summary}", details);
    }

    /// <summary>400: the request cannot be understood.</summary>
    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    /// <summary>405: the verb is not supported on the path.</summary>
    public static ApiException MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message);

    private static JsonObject Identify(ResourceType type, string name)
    {
        var details = new JsonObject { ["name"] = name };
        if (type.Group.Length > 0)
        {
            details["group"] = type.Group;
        }

        details["kind"] = type.Plural;
        return details;
    }
}

/// <summary>One invalid field, as a cause of a 422.</summary>
/// <param name="Field">Path, for example <c>spec.replicas</c>.</param>
/// <param name="Reason">CauseType, for example <c>FieldValueInvalid</c>.</param>
/// <param name="Detail">What is wrong, for example <c>Invalid value: -1: must be at least 0</c>.</param>
public sealed record FieldError(string Field, string Reason, string Detail)
{
    /// <summary>The message as the real server writes it: <c>field: detail</c>.</summary>
    public override string ToString() => $"{Field}: {Detail}";
}
