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
}
