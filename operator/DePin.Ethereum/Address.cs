using System.Text;

namespace DePin.Ethereum;

/// <summary>A 20-byte Ethereum account address.</summary>
public readonly record struct Address
{
    private readonly byte[]? _bytes;

    /// <summary>Creates an address from its 20 bytes.</summary>
    /// <param name="bytes">The bytes.</param>
    public Address(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 20)
        {
            throw new ArgumentException($"an address has 20 bytes, not {bytes.Length}", nameof(bytes));
        }

        _bytes = bytes.ToArray();
    }

    /// <summary>The 20 bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes ?? new byte[20];

    /// <summary>
    /// Parses <c>0x</c> and 40 hex digits. All-lower and all-upper case are accepted as they are;
    /// mixed case must be a valid EIP-55 checksum, so that a mistyped address is caught.
    /// </summary>
    /// <param name="text">The address.</param>
    /// <returns>The address.</returns>
    /// <exception cref="FormatException">Not an address, or a wrong checksum.</exception>
    public static Address Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length != 42 || !text.StartsWith("0x", StringComparison.Ordinal) || !text[2..].All(char.IsAsciiHexDigit))
        {
            throw new FormatException($"\"{text}\" is not 0x followed by 40 hex digits");
        }

        var address = new Address(Convert.FromHexString(text[2..]));
        var digits = text[2..];
        var mixed = digits.Any(char.IsAsciiLetterLower) && digits.Any(char.IsAsciiLetterUpper);
        if (mixed && address.ToChecksumString() != text)
        {
            throw new FormatException($"\"{text}\" fails its EIP-55 checksum");
        }

        return address;
    }

    /// <summary>The EIP-55 mixed-case checksum form.</summary>
    /// <returns>For example <c>0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed</c>.</returns>
    public string ToChecksumString()
    {
        var lower = Convert.ToHexStringLower(Bytes);
        var hash = Keccak.Hash(Encoding.ASCII.GetBytes(lower));
        var result = new StringBuilder("0x", 42);
        for (var i = 0; i < lower.Length; i++)
        {
            var nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xf;
            result.Append(nibble >= 8 ? char.ToUpperInvariant(lower[i]) : lower[i]);
        }

        return result.ToString();
    }

    /// <summary>The EIP-55 checksum form.</summary>
    /// <returns>The address as text.</returns>
    public override string ToString() => ToChecksumString();

    /// <inheritdoc/>
    public bool Equals(Address other) => Bytes.SequenceEqual(other.Bytes);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }
}
