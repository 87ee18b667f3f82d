using System.Globalization;
using System.Numerics;

namespace DePin.Ethereum;

/// <summary>Hex strings with the <c>0x</c> prefix, as JSON-RPC writes bytes and quantities.</summary>
public static class Hex
{
    /// <summary>Lower-case hex with the <c>0x</c> prefix.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>For example <c>0x01ff</c>.</returns>
    public static string Encode(ReadOnlySpan<byte> bytes) => "0x" + Convert.ToHexStringLower(bytes);

    /// <summary>Decodes hex, with or without the <c>0x</c> prefix; an odd length gets a leading zero.</summary>
    /// <param name="hex">The text.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="FormatException">The text is not hex.</exception>
    public static byte[] Decode(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (digits.Length % 2 == 1)
        {
            digits = "0" + digits;
        }

        return Convert.FromHexString(digits);
    }

    /// <summary>A JSON-RPC quantity: hex without leading zeros, <c>0x0</c> for zero.</summary>
    /// <param name="value">A non-negative number.</param>
    /// <returns>For example <c>0x1a</c>.</returns>
    public static string EncodeQuantity(BigInteger value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return value.IsZero ? "0x0" : "0x" + Convert.ToHexStringLower(value.ToByteArray(isUnsigned: true, isBigEndian: true)).TrimStart('0');
    }

    /// <summary>Parses a JSON-RPC quantity.</summary>
    /// <param name="hex">For example <c>0x1a</c>.</param>
    /// <returns>The number.</returns>
    /// <exception cref="FormatException">Not a <c>0x</c>-prefixed hex number.</exception>
    public static BigInteger DecodeQuantity(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length < 3 || !hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"\"{hex}\" is not a 0x-prefixed quantity");
        }

        return BigInteger.Parse("0" + hex[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
