using Org.BouncyCastle.Crypto.Digests;

namespace DePin.Ethereum;

/// <summary>Keccak-256 as Ethereum uses it (the original Keccak padding, not NIST SHA3-256).</summary>
public static class Keccak
{
    /// <summary>Hashes bytes.</summary>
    /// <param name="data">The input.</param>
    /// <returns>The 32-byte digest.</returns>
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var digest = new KeccakDigest(256);
        digest.BlockUpdate(data);
        var output = new byte[32];
        digest.DoFinal(output, 0);
        return output;
    }

    /// <summary>Hashes the UTF-8 bytes of a string, as for function and event signatures.</summary>
    /// <param name="text">The input.</param>
    /// <returns>The 32-byte digest.</returns>
    public static byte[] Hash(string text) => Hash(System.Text.Encoding.UTF8.GetBytes(text));
}
