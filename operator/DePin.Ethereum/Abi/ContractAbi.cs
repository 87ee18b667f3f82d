using System.Text.Json;

namespace DePin.Ethereum.Abi;

/// <summary>A parameter of a function, event or error.</summary>
/// <param name="Name">Its name, possibly empty.</param>
/// <param name="Type">Its type.</param>
/// <param name="Indexed">For event parameters: whether it is a topic.</param>
public sealed record AbiParameter(string Name, AbiType Type, bool Indexed = false);

/// <summary>Something with a signature: a function, an event or an error.</summary>
public abstract class AbiMember
{
    private protected AbiMember(string name, IReadOnlyList<AbiParameter> inputs)
    {
        Name = name;
        Inputs = inputs;
        Signature = name + "(" + string.Join(",", inputs.Select(p => p.Type.CanonicalName)) + ")";
        InputTypes = [.. inputs.Select(p => p.Type)];
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The parameters.</summary>
    public IReadOnlyList<AbiParameter> Inputs { get; }

    /// <summary>The canonical signature, for example <c>transfer(address,uint256)</c>.</summary>
    public string Signature { get; }

    internal IReadOnlyList<AbiType> InputTypes { get; }

    /// <inheritdoc/>
    public override string ToString() => Signature;
}

/// <summary>A contract function.</summary>
public sealed class AbiFunction : AbiMember
{
    internal AbiFunction(string name, IReadOnlyList<AbiParameter> inputs, IReadOnlyList<AbiParameter> outputs, string stateMutability)
        : base(name, inputs)
    {
        Outputs = outputs;
        StateMutability = stateMutability;
        Selector = Keccak.Hash(Signature).AsMemory(0, 4);
        OutputTypes = [.. outputs.Select(p => p.Type)];
    }

    /// <summary>The return values.</summary>
    public IReadOnlyList<AbiParameter> Outputs { get; }

    /// <summary><c>pure</c>, <c>view</c>, <c>nonpayable</c> or <c>payable</c>.</summary>
    public string StateMutability { get; }

    /// <summary>Whether calling it changes nothing.</summary>
    public bool IsReadOnly => StateMutability is "view" or "pure";

    /// <summary>The first four bytes of the Keccak-256 of the signature.</summary>
    public ReadOnlyMemory<byte> Selector { get; }

    private IReadOnlyList<AbiType> OutputTypes { get; }

    /// <summary>The call data: selector and encoded arguments.</summary>
    /// <param name="arguments">One value per input.</param>
    /// <returns>The call data.</returns>
    public byte[] EncodeCall(params object?[] arguments) => [.. Selector.Span, .. AbiCodec.Encode(InputTypes, arguments)];

    /// <summary>Decodes the return data.</summary>
    /// <param name="data">What the call returned.</param>
    /// <returns>One value per output.</returns>
    public object?[] DecodeOutput(ReadOnlyMemory<byte> data) => AbiCodec.Decode(OutputTypes, data);
}

/// <summary>A custom error (or the built-in <c>Error(string)</c> and <c>Panic(uint256)</c>).</summary>
public sealed class AbiError : AbiMember
{
    internal AbiError(string name, IReadOnlyList<AbiParameter> inputs)
        : base(name, inputs) => Selector = Keccak.Hash(Signature).AsMemory(0, 4);

    /// <summary>The first four bytes of the Keccak-256 of the signature, which start the revert data.</summary>
    public ReadOnlyMemory<byte> Selector { get; }
}

/// <summary>An event.</summary>
public sealed class AbiEvent : AbiMember
{
    internal AbiEvent(string name, IReadOnlyList<AbiParameter> inputs, bool anonymous)
        : base(name, inputs)
    {
        Anonymous = anonymous;
        Topic = Keccak.Hash(Signature);
    }

    /// <summary>Whether the event has no signature topic.</summary>
    public bool Anonymous { get; }

    /// <summary>The Keccak-256 of the signature: the first topic of its logs.</summary>
    public ReadOnlyMemory<byte> Topic { get; }

    /// <summary>
    /// Decodes a log of this event. Indexed parameters of dynamic type (strings, bytes, arrays, tuples)
    /// are only their Keccak-256 in the topics, so they come back as that 32-byte hash.
    /// </summary>
    /// <param name="topics">The log's topics.</param>
    /// <param name="data">The log's data.</param>
    /// <returns>Values by parameter name (or <c>argN</c> for unnamed ones).</returns>
    /// <exception cref="AbiDecodingException">The log is not of this event.</exception>
    public IReadOnlyDictionary<string, object?> Decode(IReadOnlyList<byte[]> topics, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var indexed = Inputs.Where(p => p.Indexed).ToList();
        var first = Anonymous ? 0 : 1;
        if (topics.Count != first + indexed.Count || (!Anonymous && !topics[0].AsSpan().SequenceEqual(Topic.Span)))
        {
            throw new AbiDecodingException($"the log is not a {Signature} event");
        }

        var plain = AbiCodec.Decode([.. Inputs.Where(p => !p.Indexed).Select(p => p.Type)], data);
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        int topic = first, value = 0;
        for (var i = 0; i < Inputs.Count; i++)
        {
            var parameter = Inputs[i];
            var key = parameter.Name.Length > 0 ? parameter.Name : $"arg{i}";
            if (!parameter.Indexed)
            {
                result[key] = plain[value++];
            }
            else if (parameter.Type.IsDynamic || parameter.Type is AbiTupleType or AbiArrayType)
            {
                result[key] = topics[topic++];
            }
            else
            {
                result[key] = AbiCodec.Decode([parameter.Type], topics[topic++])[0];
            }
        }

        return result;
    }
}

/// <summary>A custom error decoded from revert data.</summary>
/// <param name="Error">The error's definition.</param>
/// <param name="Arguments">Its arguments in order.</param>
public sealed record DecodedError(AbiError Error, IReadOnlyList<object?> Arguments)
{
    /// <summary>The error's name, for example <c>PriceAboveMaximum</c>.</summary>
    public string Name => Error.Name;

    /// <summary>A readable form, for example <c>PriceAboveMaximum(5, 4)</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Error.Name + "(" + string.Join(", ", Arguments.Select(Format)) + ")";

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => JsonSerializer.Serialize(s),
        byte[] bytes => Hex.Encode(bytes),
        object?[] items => "[" + string.Join(", ", items.Select(Format)) + "]",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>A contract's ABI, read from its JSON description.</summary>
public sealed class ContractAbi
{
    private static readonly AbiError ErrorString = new("Error", [new AbiParameter("message", AbiStringType.Instance)]);
    private static readonly AbiError Panic = new("Panic", [new AbiParameter("code", new AbiIntegerType(256, false))]);

    private readonly Dictionary<string, List<AbiFunction>> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AbiEvent> _eventsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AbiEvent> _eventsByTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, AbiError> _errors = [];

    private ContractAbi()
    {
        AddError(ErrorString);
        AddError(Panic);
    }

    /// <summary>The constructor's parameters.</summary>
    public IReadOnlyList<AbiParameter> ConstructorInputs { get; private set; } = [];

    /// <summary>The events.</summary>
    public IEnumerable<AbiEvent> Events => _eventsByName.Values;

    /// <summary>The custom errors, with the built-in <c>Error(string)</c> and <c>Panic(uint256)</c>.</summary>
    public IEnumerable<AbiError> Errors => _errors.Values;

    /// <summary>Reads an ABI JSON array, as solc writes it.</summary>
    /// <param name="abi">The array.</param>
    /// <returns>The ABI.</returns>
    /// <exception cref="FormatException">The JSON is not an ABI.</exception>
    public static ContractAbi Parse(JsonElement abi)
    {
        if (abi.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("an ABI is a JSON array");
        }

        var result = new ContractAbi();
        foreach (var entry in abi.EnumerateArray())
        {
            var kind = entry.TryGetProperty("type", out var t) ? t.GetString() : "function";
            var name = entry.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            var inputs = Parameters(entry, "inputs");
            switch (kind)
            {
                case "function":
                    var function = new AbiFunction(name, inputs, Parameters(entry, "outputs"), entry.TryGetProperty("stateMutability", out var m) ? m.GetString() ?? "nonpayable" : "nonpayable");
                    if (!result._functions.TryGetValue(name, out var overloads))
                    {
                        result._functions[name] = overloads = [];
                    }

                    overloads.Add(function);
                    break;
                case "event":
                    var anonymous = entry.TryGetProperty("anonymous", out var a) && a.GetBoolean();
                    var @event = new AbiEvent(name, inputs, anonymous);
                    result._eventsByName[name] = @event;
                    if (!anonymous)
                    {
                        result._eventsByTopic[Hex.Encode(@event.Topic.Span)] = @event;
                    }

                    break;
                case "error":
                    result.AddError(new AbiError(name, inputs));
                    break;
                case "constructor":
                    result.ConstructorInputs = inputs;
                    break;
                default:
                    break; // fallback, receive
            }
        }

        return result;
    }

    /// <summary>Reads an ABI JSON array from text.</summary>
    /// <param name="json">The JSON.</param>
    /// <returns>The ABI.</returns>
    public static ContractAbi Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Parse(document.RootElement);
    }

    /// <summary>The function with this name; overloads are told apart by their argument count.</summary>
    /// <param name="name">The name.</param>
    /// <param name="argumentCount">The number of arguments, needed only for overloads.</param>
    /// <returns>The function.</returns>
    /// <exception cref="KeyNotFoundException">There is no such function.</exception>
    public AbiFunction Function(string name, int? argumentCount = null)
    {
        if (!_functions.TryGetValue(name, out var overloads))
        {
            throw new KeyNotFoundException($"the ABI has no function {name}");
        }

        var matches = overloads.Where(f => argumentCount is null || f.Inputs.Count == argumentCount).ToList();
        return matches.Count == 1 ? matches[0] : throw new KeyNotFoundException($"the ABI has {matches.Count} functions {name} with {argumentCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "any number of"} arguments");
    }

    /// <summary>The event with this name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The event.</returns>
    public AbiEvent Event(string name) => _eventsByName.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"the ABI has no event {name}");

    /// <summary>The event whose signature hash is this topic.</summary>
    /// <param name="topic0">The first topic of a log.</param>
    /// <returns>The event, or null.</returns>
    public AbiEvent? EventByTopic(ReadOnlySpan<byte> topic0) => _eventsByTopic.GetValueOrDefault(Hex.Encode(topic0));

    /// <summary>The error with this name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The error.</returns>
    public AbiError Error(string name) => _errors.Values.FirstOrDefault(e => e.Name == name) ?? throw new KeyNotFoundException($"the ABI has no error {name}");

    /// <summary>Decodes revert data as one of the contract's errors.</summary>
    /// <param name="revertData">The data returned by a reverted call.</param>
    /// <returns>The error, or null when the data is empty, unknown or malformed.</returns>
    public DecodedError? DecodeError(ReadOnlyMemory<byte> revertData)
    {
        if (revertData.Length < 4 || !_errors.TryGetValue(SelectorKey(revertData.Span), out var error))
        {
            return null;
        }

        try
        {
            return new DecodedError(error, AbiCodec.Decode(error.InputTypes, revertData[4..]));
        }
        catch (AbiDecodingException)
        {
            return null;
        }
    }

    private static uint SelectorKey(ReadOnlySpan<byte> selector) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(selector);

    private static List<AbiParameter> Parameters(JsonElement entry, string property)
    {
        var result = new List<AbiParameter>();
        if (entry.TryGetProperty(property, out var list))
        {
            foreach (var parameter in list.EnumerateArray())
            {
                result.Add(new AbiParameter(
                    parameter.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
                    ParameterType(parameter),
                    parameter.TryGetProperty("indexed", out var i) && i.GetBoolean()));
            }
        }

        return result;
    }

    private static AbiType ParameterType(JsonElement parameter)
    {
        var type = parameter.GetProperty("type").GetString() ?? throw new FormatException("an ABI parameter has no type");
        if (!type.StartsWith("tuple", StringComparison.Ordinal))
        {
            return AbiType.Parse(type);
        }

        var components = parameter.GetProperty("components").EnumerateArray()
            .Select(c => new AbiTupleComponent(c.TryGetProperty("name", out var n) ? n.GetString() : null, ParameterType(c)))
            .ToList();
        return AbiType.ApplySuffixes(new AbiTupleType(components), type["tuple".Length..], type);
    }

    private void AddError(AbiError error) => _errors[SelectorKey(error.Selector.Span)] = error;
}
