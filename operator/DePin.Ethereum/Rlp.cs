using System.Numerics;

namespace DePin.Ethereum;

/// <summary>An RLP item: a byte string or a list of items.</summary>
public abstract record RlpItem;

/// <summary>An RLP byte string.</summary>
/// <param name="Bytes">The bytes.</param>
public sealed record RlpString(byte[] Bytes) : RlpItem
{
    /// <summary>The string as an unsigned big-endian integer.</summary>
    public BigInteger ToBigInteger() => new(Bytes, isUnsigned: true, isBigEndian: true);
}

/// <summary>An RLP list.</summary>
/// <param name="Items">The items.</param>
public sealed record RlpList(IReadOnlyList<RlpItem> Items) : RlpItem;

/// <summary>Recursive Length Prefix encoding, as the Ethereum yellow paper defines it.</summary>
public static class Rlp
{
    /// <summary>Encodes a byte string.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The encoding.</returns>
    public static byte[] Encode(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 1 && bytes[0] < 0x80 ? [bytes[0]] : [.. Prefix(0x80, bytes.Length), .. bytes];

    /// <summary>Encodes an unsigned integer as its minimal big-endian bytes (zero is the empty string).</summary>
    /// <param name="value">A value of at least zero.</param>
    /// <returns>The encoding.</returns>
    public static byte[] Encode(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "RLP encodes only unsigned integers");
        }

        return Encode(value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true));
    }

    /// <summary>Encodes a list of already encoded items.</summary>
    /// <param name="encodedItems">Each item's encoding, in order.</param>
    /// <returns>The encoding.</returns>
    public static byte[] EncodeList(params byte[][] encodedItems)
    {
        ArgumentNullException.ThrowIfNull(encodedItems);
        var payload = encodedItems.SelectMany(i => i).ToArray();
        return [.. Prefix(0xc0, payload.Length), .. payload];
    }

    /// <summary>Encodes an item tree.</summary>
    /// <param name="item">The item.</param>
    /// <returns>The encoding.</returns>
    public static byte[] Encode(RlpItem item) => item switch
    {
        RlpString s => Encode(s.Bytes),
        RlpList l => EncodeList([.. l.Items.Select(Encode)]),
        _ => throw new ArgumentException("unknown RLP item", nameof(item)),
    };

    /// <summary>Decodes one item that spans the whole input.</summary>
    /// <param name="data">The encoding.</param>
    /// <returns>The item.</returns>
    /// <exception cref="FormatException">The input is not canonical RLP or has trailing bytes.</exception>
    public static RlpItem Decode(ReadOnlySpan<byte> data)
    {
        var (item, used) = DecodeOne(data);
        return used == data.Length ? item : throw new FormatException($"{data.Length - used} bytes after the RLP item");
    }

    private static (RlpItem Item, int Used) DecodeOne(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new FormatException("RLP input ended early");
        }

        var first = data[0];
        if (first < 0x80)
        {
            return (new RlpString([first]), 1);
        }

        var isList = first >= 0xc0;
        var offset = isList ? 0xc0 : 0x80;
        int headerLength, length;
        if (first - offset <= 55)
        {
            headerLength = 1;
            length = first - offset;
        }
        else
        {
            var lengthOfLength = first - offset - 55;
            if (data.Length < 1 + lengthOfLength || lengthOfLength > 4 || data[1] == 0)
            {
                throw new FormatException("RLP length prefix is not canonical");
            }

            length = 0;
            foreach (var b in data.Slice(1, lengthOfLength))
            {
                length = checked((length << 8) | b);
            }

            if (length <= 55)
            {
                throw new FormatException("RLP long form used for a short payload");
            }

            headerLength = 1 + lengthOfLength;
        }

        if (data.Length < headerLength + length)
        {
            throw new FormatException("RLP payload ended early");
        }

        var payload = data.Slice(headerLength, length);
        if (!isList)
        {
            if (length == 1 && payload[0] < 0x80)
            {
                throw new FormatException("RLP single byte below 0x80 must not have a prefix");
            }

            return (new RlpString(payload.ToArray()), headerLength + length);
        }

        var items = new List<RlpItem>();
        while (!payload.IsEmpty)
        {
            var (item, used) = DecodeOne(payload);
            items.Add(item);
            payload = payload[used..];
        }

        return (new RlpList(items), headerLength + length);
    }

    private static byte[] Prefix(int offset, int length)
    {
        if (length <= 55)
        {
            return [(byte)(offset + length)];
        }

        var lengthBytes = new BigInteger(length).ToByteArray(isUnsigned: true, isBigEndian: true);
        return [(byte)(offset + 55 + lengthBytes.Length), .. lengthBytes];
    }
}
