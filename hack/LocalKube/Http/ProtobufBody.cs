using System.Text;
using System.Text.Json.Nodes;
using DePin.LocalKube.Storage;

namespace DePin.LocalKube.Http;

/// <summary>
/// Request bodies in the Kubernetes protobuf encoding, turned into the JSON the store keeps. Clients
/// built on client-go send built-in kinds this way: helm stores its releases in Secrets, and
/// <c>kubectl create namespace|secret|configmap|serviceaccount</c> send their objects so. Only the
/// kinds below are understood, field by field; a body with any other kind, or with a field this
/// decoder does not know, is refused with 415 rather than stored with something missing.
/// </summary>
public static class ProtobufBody
{
    /// <summary>The media type of the encoding.</summary>
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    // Every object starts with these four bytes, then a runtime.Unknown message.
    private static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    private static readonly Message OwnerReference = new()
    {
        [1] = Field.String("kind"),
        [3] = Field.String("name"),
        [4] = Field.String("uid"),
        [5] = Field.String("apiVersion"),
        [6] = Field.Bool("controller"),
        [7] = Field.Bool("blockOwnerDeletion"),
    };

    private static readonly Message ObjectMeta = new()
    {
        [1] = Field.String("name"),
        [2] = Field.String("generateName"),
        [3] = Field.String("namespace"),
        [4] = Field.Skipped("selfLink"),
        [5] = Field.String("uid"),
        [6] = Field.String("resourceVersion"),
        [7] = Field.Int64("generation"),
        [8] = Field.Time("creationTimestamp"),
        [9] = Field.Time("deletionTimestamp"),
        [10] = Field.Int64("deletionGracePeriodSeconds"),
        [11] = Field.StringMap("labels"),
        [12] = Field.StringMap("annotations"),
        [13] = Field.Messages("ownerReferences", OwnerReference),
        [14] = Field.Strings("finalizers"),

        // LocalKube does not track field managers (see the README), with any encoding.
        [17] = Field.Skipped("managedFields"),
    };

    private static readonly Message ObjectReference = new()
    {
        [1] = Field.String("kind"),
        [2] = Field.String("namespace"),
        [3] = Field.String("name"),
        [4] = Field.String("uid"),
        [5] = Field.String("apiVersion"),
        [6] = Field.String("resourceVersion"),
        [7] = Field.String("fieldPath"),
    };

    private static readonly Dictionary<string, Message> Kinds = new(StringComparer.Ordinal)
    {
        ["v1/Secret"] = new()
        {
            [1] = Field.Object("metadata", ObjectMeta),
            [2] = Field.BytesMap("data"),
            [3] = Field.String("type"),
            [4] = Field.StringMap("stringData"),
            [5] = Field.Bool("immutable"),
        },
        ["v1/ConfigMap"] = new()
        {
            [1] = Field.Object("metadata", ObjectMeta),
            [2] = Field.StringMap("data"),
            [3] = Field.BytesMap("binaryData"),
            [4] = Field.Bool("immutable"),
        },
        ["v1/Namespace"] = new()
        {
            [1] = Field.Object("metadata", ObjectMeta),
            [2] = Field.Object("spec", new() { [1] = Field.Strings("finalizers") }),
            [3] = Field.Object("status", new() { [1] = Field.String("phase") }),
        },
        ["v1/ServiceAccount"] = new()
        {
            [1] = Field.Object("metadata", ObjectMeta),
            [2] = Field.Messages("secrets", ObjectReference),
            [3] = Field.Messages("imagePullSecrets", new() { [1] = Field.String("name") }),
            [4] = Field.Bool("automountServiceAccountToken"),
        },
        ["v1/DeleteOptions"] = new()
        {
            [1] = Field.Int64("gracePeriodSeconds"),
            [2] = Field.Object("preconditions", new() { [1] = Field.String("uid"), [2] = Field.String("resourceVersion") }),
            [3] = Field.Bool("orphanDependents"),
            [4] = Field.String("propagationPolicy"),
            [5] = Field.Strings("dryRun"),
        },
    };

    private static readonly Message TypeMeta = new() { [1] = Field.String("apiVersion"), [2] = Field.String("kind") };

    /// <summary>Whether a request's content type is this encoding.</summary>
    /// <param name="contentType">The Content-Type header.</param>
    /// <returns>True for protobuf.</returns>
    public static bool Is(string? contentType) => contentType?.Split(';')[0].Trim() == MediaType;

    /// <summary>Decodes one object.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The object as JSON, with its apiVersion and kind.</returns>
    /// <exception cref="ApiException">400 when the bytes are not a Kubernetes protobuf object; 415 for a kind or field not understood.</exception>
    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (!body.StartsWith(Magic))
        {
            throw ApiException.BadRequest("the protobuf body does not start with the Kubernetes magic number");
        }

        // The envelope, a runtime.Unknown: the type, the object's own bytes, their encoding and content type.
        var (apiVersion, kind, encoding) = ("", "", "");
        ReadOnlySpan<byte> raw = default;
        var envelope = new WireReader(body[Magic.Length..]);
        while (!envelope.End)
        {
            switch (envelope.Tag())
            {
                case (1, 2):
                    var type = Read(envelope.Bytes(), TypeMeta, "typeMeta");
                    (apiVersion, kind) = ((string?)type["apiVersion"] ?? "", (string?)type["kind"] ?? "");
                    break;
                case (2, 2):
                    raw = envelope.Bytes();
                    break;
                case (3, 2):
                    encoding = Encoding.UTF8.GetString(envelope.Bytes());
                    break;
                case (_, var wireType):
                    envelope.Skip(wireType);
                    break;
            }
        }

        if (encoding.Length > 0)
        {
            throw Unsupported($"the protobuf body has content encoding {encoding}");
        }

        if (!Kinds.TryGetValue($"{apiVersion}/{kind}", out var message))
        {
            throw Unsupported($"LocalKube decodes protobuf bodies of {string.Join(", ", Kinds.Keys)} only, not {apiVersion}/{kind}; send JSON");
        }

        var result = Read(raw, message, kind);
        result.Insert(0, "apiVersion", apiVersion);
        result.Insert(1, "kind", kind);
        return result;
    }

    private static ApiException Unsupported(string message) => new(415, "UnsupportedMediaType", message);

    private static JsonObject Read(ReadOnlySpan<byte> bytes, Message message, string path)
    {
        var result = new JsonObject();
        var reader = new WireReader(bytes);
        while (!reader.End)
        {
            var (number, wireType) = reader.Tag();
            if (!message.TryGetValue(number, out var field))
            {
                throw Unsupported($"LocalKube does not know field {number} of {(path.Length == 0 ? "the object" : path)} in a protobuf body; send JSON");
            }

            var name = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            if (field.Kind == FieldKind.Skipped)
            {
                reader.Skip(wireType);
                continue;
            }

            if (wireType != field.WireType)
            {
                throw ApiException.BadRequest($"the protobuf body has wire type {wireType} for {name}");
            }

            switch (field.Kind)
            {
                case FieldKind.String:
                    result[field.Name] = Encoding.UTF8.GetString(reader.Bytes());
                    break;
                case FieldKind.Raw:
                    result[field.Name] = Convert.ToBase64String(reader.Bytes());
                    break;
                case FieldKind.Bool:
                    result[field.Name] = reader.Varint() != 0;
                    break;
                case FieldKind.Int64:
                    result[field.Name] = unchecked((long)reader.Varint());
                    break;
                case FieldKind.Time:
                    var time = Read(reader.Bytes(), Timestamp, name);
                    var seconds = (long?)time["seconds"] ?? 0;
                    result[field.Name] = Rfc3339.Format(DateTimeOffset.FromUnixTimeSeconds(seconds));
                    break;
                case FieldKind.Object:
                    result[field.Name] = Read(reader.Bytes(), field.Message!, name);
                    break;
                case FieldKind.Messages:
                    Append(result, field.Name, Read(reader.Bytes(), field.Message!, name));
                    break;
                case FieldKind.Strings:
                    Append(result, field.Name, JsonValue.Create(Encoding.UTF8.GetString(reader.Bytes())));
                    break;
                case FieldKind.StringMap or FieldKind.BytesMap:
                    var entry = Read(reader.Bytes(), field.Kind == FieldKind.StringMap ? StringEntry : BytesEntry, name);
                    var map = result[field.Name] as JsonObject ?? (JsonObject)(result[field.Name] = new JsonObject());
                    map[(string?)entry["key"] ?? ""] = (string?)entry["value"] ?? "";
                    break;
            }
        }

        return result;
    }

    private static void Append(JsonObject target, string name, JsonNode? item)
    {
        var list = target[name] as JsonArray ?? (JsonArray)(target[name] = new JsonArray());
        list.Add(item);
    }

    private static readonly Message Timestamp = new() { [1] = Field.Int64("seconds"), [2] = Field.Int64("nanos") };

    private static readonly Message StringEntry = new() { [1] = Field.String("key"), [2] = Field.String("value") };

    // Bytes values are base64 in JSON, as the API server writes a Secret's data.
    private static readonly Message BytesEntry = new() { [1] = Field.String("key"), [2] = Field.Raw("value") };

    private enum FieldKind
    {
        String,
        Raw,
        Bool,
        Int64,
        Time,
        Object,
        Messages,
        Strings,
        StringMap,
        BytesMap,
        Skipped,
    }

    private sealed class Message : Dictionary<int, Field>;

    private sealed record Field(string Name, FieldKind Kind, Message? Message = null)
    {
        public int WireType => Kind is FieldKind.Bool or FieldKind.Int64 ? 0 : 2;

        public static Field String(string name) => new(name, FieldKind.String);

        public static Field Raw(string name) => new(name, FieldKind.Raw);

        public static Field Bool(string name) => new(name, FieldKind.Bool);

        public static Field Int64(string name) => new(name, FieldKind.Int64);

        public static Field Time(string name) => new(name, FieldKind.Time);

        public static Field Object(string name, Message message) => new(name, FieldKind.Object, message);

        public static Field Messages(string name, Message message) => new(name, FieldKind.Messages, message);

        public static Field Strings(string name) => new(name, FieldKind.Strings);

        public static Field StringMap(string name) => new(name, FieldKind.StringMap);

        public static Field BytesMap(string name) => new(name, FieldKind.BytesMap);

        public static Field Skipped(string name) => new(name, FieldKind.Skipped);
    }

    // The protobuf wire format: varints, and tags of field number and wire type.
    private ref struct WireReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly bool End => _position >= _bytes.Length;

        public (int Number, int WireType) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _bytes.Length)
                {
                    throw ApiException.BadRequest("the protobuf body ends inside a varint");
                }

                var b = _bytes[_position++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw ApiException.BadRequest("the protobuf body has a varint longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(_bytes.Length - _position))
            {
                throw ApiException.BadRequest("the protobuf body ends inside a field");
            }

            var slice = _bytes.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public void Skip(int wireType)
        {
            switch (wireType)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    Advance(8);
                    break;
                case 2:
                    Bytes();
                    break;
                case 5:
                    Advance(4);
                    break;
                default:
                    throw ApiException.BadRequest($"the protobuf body has wire type {wireType}");
            }
        }

        private void Advance(int count)
        {
            if (_bytes.Length - _position < count)
            {
                throw ApiException.BadRequest("the protobuf body ends inside a field");
            }

            _position += count;
        }
    }
}
