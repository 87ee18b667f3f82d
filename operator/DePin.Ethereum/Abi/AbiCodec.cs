using System.Buffers;
using System.Numerics;

namespace DePin.Ethereum.Abi;

/// <summary>Encodes and decodes lists of values as an ABI tuple: call arguments, return values, event data.</summary>
public static class AbiCodec
{
    /// <summary>Encodes values of the given types.</summary>
    /// <param name="types">The types.</param>
    /// <param name="values">One value per type (see <see cref="AbiType"/> for the C# types).</param>
    /// <returns>The encoding.</returns>
    /// <exception cref="ArgumentException">A value does not match its type.</exception>
    public static byte[] Encode(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values)
    {
        var writer = new AbiWriter();
        writer.WriteTuple(types, values);
        return writer.ToArray();
    }

    /// <summary>Decodes values of the given types, refusing malformed input rather than guessing.</summary>
    /// <param name="types">The types.</param>
    /// <param name="data">The encoding.</param>
    /// <returns>One value per type.</returns>
    /// <exception cref="AbiDecodingException">The data is truncated, an offset or length points outside it, or a value is out of range.</exception>
    public static object?[] Decode(IReadOnlyList<AbiType> types, ReadOnlyMemory<byte> data) => new AbiReader(data).Tuple(types, 0);
}

/// <summary>The data does not decode as the expected ABI types.</summary>
public sealed class AbiDecodingException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public AbiDecodingException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public AbiDecodingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AbiDecodingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

internal sealed class AbiWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public int Length => _buffer.WrittenCount;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void WriteWord(BigInteger value)
    {
        var span = _buffer.GetSpan(32)[..32];
        span.Fill(value.Sign < 0 ? (byte)0xff : (byte)0);
        var count = value.GetByteCount(isUnsigned: value.Sign >= 0);
        if (!value.TryWriteBytes(span[(32 - count)..], out _, isUnsigned: value.Sign >= 0, isBigEndian: true))
        {
            throw new ArgumentOutOfRangeException(nameof(value), "value does not fit 32 bytes");
        }

        _buffer.Advance(32);
    }

    public void WriteLeftPadded(ReadOnlySpan<byte> bytes)
    {
        var span = _buffer.GetSpan(32)[..32];
        span.Clear();
        bytes.CopyTo(span[(32 - bytes.Length)..]);
        _buffer.Advance(32);
    }

    public void WriteRightPadded(ReadOnlySpan<byte> bytes)
    {
        var padded = (bytes.Length + 31) / 32 * 32;
        var span = _buffer.GetSpan(padded)[..padded];
        span.Clear();
        bytes.CopyTo(span);
        _buffer.Advance(padded);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteWord(bytes.Length);
        if (bytes.Length > 0)
        {
            WriteRightPadded(bytes);
        }
    }

    public void Write(ReadOnlySpan<byte> encoded) => _buffer.Write(encoded);

    public void WriteTuple(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values)
    {
        if (types.Count != values.Count)
        {
            throw new ArgumentException($"{types.Count} values expected, {values.Count} given");
        }

        var headSize = 0;
        foreach (var type in types)
        {
            headSize += type.HeadSize;
        }

        var tail = new AbiWriter();
        var headStart = Length;
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i].IsDynamic)
            {
                WriteWord(headSize + tail.Length);
                types[i].Encode(values[i], tail);
            }
            else
            {
                types[i].Encode(values[i], this);
            }
        }

        System.Diagnostics.Debug.Assert(Length - headStart == headSize, "head size matches the types");
        Write(tail._buffer.WrittenSpan);
    }
}

internal sealed class AbiReader(ReadOnlyMemory<byte> data)
{
    private static readonly BigInteger MaxOffset = int.MaxValue;

    public ReadOnlySpan<byte> Word(int at)
    {
        if (at < 0 || at > data.Length - 32)
        {
            throw new AbiDecodingException($"data ends before the word at byte {at} ({data.Length} bytes)");
        }

        return data.Span.Slice(at, 32);
    }

    public object?[] Tuple(IReadOnlyList<AbiType> types, int start)
    {
        var values = new object?[types.Count];
        var position = start;
        for (var i = 0; i < types.Count; i++)
        {
            values[i] = types[i].IsDynamic
                ? types[i].Decode(this, start + Offset(position, start))
                : types[i].Decode(this, position);
            position += types[i].HeadSize;
        }

        return values;
    }

    /// <summary>A count of items whose heads take <paramref name="itemSize"/> bytes each; it must fit the data.</summary>
    public int Length(int at, int itemSize)
    {
        var count = Unsigned(at);
        var available = data.Length - at - 32;
        if (count > available / Math.Max(itemSize, 1))
        {
            throw new AbiDecodingException($"length {count} at byte {at} exceeds the data");
        }

        return (int)count;
    }

    public ReadOnlySpan<byte> Bytes(int at)
    {
        var length = Length(at, 1);
        return data.Span.Slice(at + 32, length);
    }

    private int Offset(int position, int start)
    {
        var offset = Unsigned(position);
        if (offset >= data.Length - start)
        {
            throw new AbiDecodingException($"offset {offset} at byte {position} points outside the data");
        }

        return (int)offset;
    }

    private BigInteger Unsigned(int at)
    {
        var value = new BigInteger(Word(at), isUnsigned: true, isBigEndian: true);
        return value > MaxOffset ? throw new AbiDecodingException($"value {value} at byte {at} is too large for an offset or length") : value;
    }
}
