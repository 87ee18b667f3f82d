using System.Globalization;
using System.Numerics;

namespace DePin.Ethereum.Abi;

/// <summary>
/// A Solidity ABI type. Values map to C# as follows: <c>uintN</c> and <c>intN</c> to
/// <see cref="BigInteger"/> (any integer type is accepted when encoding), <c>address</c> to
/// <see cref="Address"/>, <c>bool</c> to <see cref="bool"/>, <c>bytesN</c> and <c>bytes</c> to
/// <c>byte[]</c>, <c>string</c> to <see cref="string"/>, arrays and tuples to <c>object?[]</c>
/// (any <see cref="System.Collections.IEnumerable"/> is accepted when encoding).
/// </summary>
public abstract class AbiType
{
    /// <summary>The canonical name used in signatures, for example <c>uint256</c> or <c>(address,bytes)[]</c>.</summary>
    public abstract string CanonicalName { get; }

    /// <summary>Whether the encoding has a length that depends on the value (its head is then an offset).</summary>
    public abstract bool IsDynamic { get; }

    /// <summary>The size of the type's slot in the head of an enclosing tuple.</summary>
    public virtual int HeadSize => 32;

    /// <summary>Parses a canonical type name such as <c>uint256</c>, <c>bytes32[]</c> or <c>(uint8,string)[2]</c>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The type.</returns>
    /// <exception cref="FormatException">Not a valid ABI type.</exception>
    public static AbiType Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var position = 0;
        var type = ParseAt(name, ref position);
        if (position != name.Length)
        {
            throw new FormatException($"unexpected \"{name[position..]}\" in ABI type \"{name}\"");
        }

        return type;
    }

    /// <inheritdoc/>
    public override string ToString() => CanonicalName;

    internal abstract void Encode(object? value, AbiWriter writer);

    internal abstract object Decode(AbiReader reader, int at);

    /// <summary>Wraps a base type in the array suffixes that follow it, such as <c>[2][]</c>.</summary>
    internal static AbiType ApplySuffixes(AbiType type, string suffixes, string whole)
    {
        var position = 0;
        while (position < suffixes.Length)
        {
            type = ParseSuffix(type, suffixes, ref position, whole);
        }

        return type;
    }

    private static AbiType ParseAt(string text, ref int position)
    {
        AbiType type;
        if (position < text.Length && text[position] == '(')
        {
            position++;
            var components = new List<AbiTupleComponent>();
            while (position < text.Length && text[position] != ')')
            {
                components.Add(new AbiTupleComponent(null, ParseAt(text, ref position)));
                if (position < text.Length && text[position] == ',')
                {
                    position++;
                }
            }

            if (position >= text.Length)
            {
                throw new FormatException($"unclosed tuple in ABI type \"{text}\"");
            }

            position++;
            type = new AbiTupleType(components);
        }
        else
        {
            var start = position;
            while (position < text.Length && char.IsAsciiLetterOrDigit(text[position]))
            {
                position++;
            }

            type = Elementary(text[start..position], text);
        }

        while (position < text.Length && text[position] == '[')
        {
            type = ParseSuffix(type, text, ref position, text);
        }

        return type;
    }

    private static AbiArrayType ParseSuffix(AbiType element, string text, ref int position, string whole)
    {
        if (text[position] != '[')
        {
            throw new FormatException($"unexpected \"{text[position..]}\" in ABI type \"{whole}\"");
        }

        var close = text.IndexOf(']', position);
        if (close < 0)
        {
            throw new FormatException($"unclosed array in ABI type \"{whole}\"");
        }

        var length = text[(position + 1)..close];
        position = close + 1;
        if (length.Length == 0)
        {
            return new AbiArrayType(element, null);
        }

        if (!int.TryParse(length, NumberStyles.None, CultureInfo.InvariantCulture, out var fixedLength) || fixedLength <= 0)
        {
            throw new FormatException($"array length \"{length}\" in ABI type \"{whole}\" is not a positive integer");
        }

        return new AbiArrayType(element, fixedLength);
    }

    private static AbiType Elementary(string name, string whole)
    {
        switch (name)
        {
            case "address":
                return AbiAddressType.Instance;
            case "bool":
                return AbiBoolType.Instance;
            case "string":
                return AbiStringType.Instance;
            case "bytes":
                return AbiBytesType.Instance;
            case "uint":
                return new AbiIntegerType(256, false);
            case "int":
                return new AbiIntegerType(256, true);
            default:
                break;
        }

        if (TrySize(name, "uint", out var bits) && bits % 8 == 0 && bits is >= 8 and <= 256)
        {
            return new AbiIntegerType(bits, false);
        }

        if (TrySize(name, "int", out bits) && bits % 8 == 0 && bits is >= 8 and <= 256)
        {
            return new AbiIntegerType(bits, true);
        }

        if (TrySize(name, "bytes", out var size) && size is >= 1 and <= 32)
        {
            return new AbiFixedBytesType(size);
        }

        throw new FormatException($"\"{name}\" in \"{whole}\" is not an ABI type this client supports");
    }

    private static bool TrySize(string name, string prefix, out int size)
    {
        size = 0;
        return name.StartsWith(prefix, StringComparison.Ordinal)
            && name.Length > prefix.Length
            && char.IsAsciiDigit(name[prefix.Length])
            && name[prefix.Length] != '0'
            && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out size);
    }
}

/// <summary>A named member of a tuple.</summary>
/// <param name="Name">The member's name in the ABI JSON, or null.</param>
/// <param name="Type">Its type.</param>
public sealed record AbiTupleComponent(string? Name, AbiType Type);

/// <summary><c>uintN</c> or <c>intN</c>.</summary>
public sealed class AbiIntegerType : AbiType
{
    private readonly BigInteger _min;
    private readonly BigInteger _max;

    internal AbiIntegerType(int bits, bool signed)
    {
        Bits = bits;
        IsSigned = signed;
        _max = signed ? (BigInteger.One << (bits - 1)) - 1 : (BigInteger.One << bits) - 1;
        _min = signed ? -(BigInteger.One << (bits - 1)) : BigInteger.Zero;
    }

    /// <summary>The width in bits.</summary>
    public int Bits { get; }

    /// <summary>Whether it is <c>intN</c>.</summary>
    public bool IsSigned { get; }

    /// <inheritdoc/>
    public override string CanonicalName => (IsSigned ? "int" : "uint") + Bits.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override bool IsDynamic => false;

    internal override void Encode(object? value, AbiWriter writer)
    {
        var number = value switch
        {
            BigInteger big => big,
            int i => i,
            long l => l,
            uint u => u,
            ulong ul => ul,
            short s => s,
            ushort us => us,
            byte b => b,
            sbyte sb => sb,
            _ => throw new ArgumentException($"{CanonicalName} takes an integer, not {Describe(value)}"),
        };
        if (number < _min || number > _max)
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"{number} does not fit {CanonicalName}");
        }

        writer.WriteWord(number);
    }

    internal override object Decode(AbiReader reader, int at)
    {
        var word = reader.Word(at);
        var value = IsSigned
            ? new BigInteger(word, isUnsigned: false, isBigEndian: true)
            : new BigInteger(word, isUnsigned: true, isBigEndian: true);
        if (value < _min || value > _max)
        {
            throw new AbiDecodingException($"value at byte {at} does not fit {CanonicalName}");
        }

        return value;
    }

    internal static string Describe(object? value) => value is null ? "null" : value.GetType().Name;
}

/// <summary><c>address</c>.</summary>
public sealed class AbiAddressType : AbiType
{
    internal static readonly AbiAddressType Instance = new();

    private AbiAddressType()
    {
    }

    /// <inheritdoc/>
    public override string CanonicalName => "address";

    /// <inheritdoc/>
    public override bool IsDynamic => false;

    internal override void Encode(object? value, AbiWriter writer)
    {
        if (value is not Address address)
        {
            throw new ArgumentException($"address takes an Address, not {AbiIntegerType.Describe(value)}");
        }

        writer.WriteLeftPadded(address.Bytes);
    }

    internal override object Decode(AbiReader reader, int at)
    {
        var word = reader.Word(at);
        if (word[..12].ContainsAnyExcept((byte)0))
        {
            throw new AbiDecodingException($"address at byte {at} has non-zero high bytes");
        }

        return new Address(word[12..]);
    }
}

/// <summary><c>bool</c>.</summary>
public sealed class AbiBoolType : AbiType
{
    internal static readonly AbiBoolType Instance = new();

    private AbiBoolType()
    {
    }

    /// <inheritdoc/>
    public override string CanonicalName => "bool";

    /// <inheritdoc/>
    public override bool IsDynamic => false;

    internal override void Encode(object? value, AbiWriter writer) =>
        writer.WriteWord(value is bool b ? (b ? BigInteger.One : BigInteger.Zero) : throw new ArgumentException($"bool takes a bool, not {AbiIntegerType.Describe(value)}"));

    internal override object Decode(AbiReader reader, int at)
    {
        var word = reader.Word(at);
        if (word[..31].ContainsAnyExcept((byte)0) || word[31] > 1)
        {
            throw new AbiDecodingException($"bool at byte {at} is neither 0 nor 1");
        }

        return word[31] == 1;
    }
}

/// <summary><c>bytes1</c> to <c>bytes32</c>.</summary>
public sealed class AbiFixedBytesType : AbiType
{
    internal AbiFixedBytesType(int size) => Size = size;

    /// <summary>The number of bytes.</summary>
    public int Size { get; }

    /// <inheritdoc/>
    public override string CanonicalName => "bytes" + Size.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override bool IsDynamic => false;

    internal override void Encode(object? value, AbiWriter writer)
    {
        var bytes = AbiBytesType.AsBytes(value, CanonicalName);
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"{CanonicalName} takes exactly {Size} bytes, not {bytes.Length}");
        }

        writer.WriteRightPadded(bytes);
    }

    internal override object Decode(AbiReader reader, int at)
    {
        var word = reader.Word(at);
        if (word[Size..].ContainsAnyExcept((byte)0))
        {
            throw new AbiDecodingException($"{CanonicalName} at byte {at} has non-zero padding");
        }

        return word[..Size].ToArray();
    }
}

/// <summary><c>bytes</c>.</summary>
public sealed class AbiBytesType : AbiType
{
    internal static readonly AbiBytesType Instance = new();

    private AbiBytesType()
    {
    }

    /// <inheritdoc/>
    public override string CanonicalName => "bytes";

    /// <inheritdoc/>
    public override bool IsDynamic => true;

    internal static ReadOnlySpan<byte> AsBytes(object? value, string type) => value switch
    {
        byte[] array => array,
        ReadOnlyMemory<byte> memory => memory.Span,
        Memory<byte> memory => memory.Span,
        _ => throw new ArgumentException($"{type} takes bytes, not {AbiIntegerType.Describe(value)}"),
    };

    internal override void Encode(object? value, AbiWriter writer) => writer.WriteBytes(AsBytes(value, CanonicalName));

    internal override object Decode(AbiReader reader, int at) => reader.Bytes(at).ToArray();
}

/// <summary><c>string</c>, encoded as UTF-8.</summary>
public sealed class AbiStringType : AbiType
{
    internal static readonly AbiStringType Instance = new();

    private AbiStringType()
    {
    }

    /// <inheritdoc/>
    public override string CanonicalName => "string";

    /// <inheritdoc/>
    public override bool IsDynamic => true;

    internal override void Encode(object? value, AbiWriter writer) =>
        writer.WriteBytes(System.Text.Encoding.UTF8.GetBytes(value as string ?? throw new ArgumentException($"string takes a string, not {AbiIntegerType.Describe(value)}")));

    // Invalid UTF-8 (a contract can store any bytes) becomes U+FFFD rather than failing the whole decode.
    internal override object Decode(AbiReader reader, int at) => System.Text.Encoding.UTF8.GetString(reader.Bytes(at));
}

/// <summary><c>T[]</c> or <c>T[k]</c>.</summary>
public sealed class AbiArrayType : AbiType
{
    internal AbiArrayType(AbiType element, int? length)
    {
        Element = element;
        Length = length;
    }

    /// <summary>The element type.</summary>
    public AbiType Element { get; }

    /// <summary>The fixed length, or null for a dynamic array.</summary>
    public int? Length { get; }

    /// <inheritdoc/>
    public override string CanonicalName => Element.CanonicalName + "[" + (Length?.ToString(CultureInfo.InvariantCulture) ?? "") + "]";

    /// <inheritdoc/>
    public override bool IsDynamic => Length is null || Element.IsDynamic;

    /// <inheritdoc/>
    public override int HeadSize => IsDynamic ? 32 : Length!.Value * Element.HeadSize;

    internal override void Encode(object? value, AbiWriter writer)
    {
        if (value is null or string or byte[] || value is not System.Collections.IEnumerable items)
        {
            throw new ArgumentException($"{CanonicalName} takes a list, not {AbiIntegerType.Describe(value)}");
        }

        var list = items.Cast<object?>().ToList();
        if (Length is { } length && list.Count != length)
        {
            throw new ArgumentException($"{CanonicalName} takes exactly {length} items, not {list.Count}");
        }

        if (Length is null)
        {
            writer.WriteWord(list.Count);
        }

        writer.WriteTuple(Enumerable.Repeat(Element, list.Count).ToList(), list);
    }

    internal override object Decode(AbiReader reader, int at)
    {
        if (Length is { } length)
        {
            return reader.Tuple(Enumerable.Repeat(Element, length).ToList(), at);
        }

        var count = reader.Length(at, Element.HeadSize);
        return reader.Tuple(Enumerable.Repeat(Element, count).ToList(), at + 32);
    }
}

/// <summary>A tuple (a Solidity struct).</summary>
public sealed class AbiTupleType : AbiType
{
    internal AbiTupleType(IReadOnlyList<AbiTupleComponent> components) => Components = components;

    /// <summary>The members in order.</summary>
    public IReadOnlyList<AbiTupleComponent> Components { get; }

    /// <inheritdoc/>
    public override string CanonicalName => "(" + string.Join(",", Components.Select(c => c.Type.CanonicalName)) + ")";

    /// <inheritdoc/>
    public override bool IsDynamic => Components.Any(c => c.Type.IsDynamic);

    /// <inheritdoc/>
    public override int HeadSize => IsDynamic ? 32 : Components.Sum(c => c.Type.HeadSize);

    internal override void Encode(object? value, AbiWriter writer)
    {
        if (value is null or string or byte[] || value is not System.Collections.IEnumerable items)
        {
            throw new ArgumentException($"{CanonicalName} takes a list of its members, not {AbiIntegerType.Describe(value)}");
        }

        writer.WriteTuple(Components.Select(c => c.Type).ToList(), items.Cast<object?>().ToList());
    }

    internal override object Decode(AbiReader reader, int at) => reader.Tuple(Components.Select(c => c.Type).ToList(), at);
}
