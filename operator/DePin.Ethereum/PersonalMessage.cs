using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace DePin.Ethereum;

/// <summary>
/// EIP-191 version 0x45 ("personal_sign") messages: the signed hash is Keccak-256 of
/// "\x19Ethereum Signed Message:\n", the message length in decimal, and the message. Signatures are
/// 65 bytes r || s || v with v = 27 or 28, as wallets and <c>eth_sign</c> produce them.
/// </summary>
public static class PersonalMessage
{
    private const string Prefix = "\u0019Ethereum Signed Message:\n";

    /// <summary>The hash that is signed for a message.</summary>
    /// <param name="message">The message bytes.</param>
    /// <returns>32 bytes.</returns>
    public static byte[] Hash(ReadOnlySpan<byte> message) =>
        Keccak.Hash([.. Encoding.ASCII.GetBytes(Prefix + message.Length.ToString(CultureInfo.InvariantCulture)), .. message]);

    /// <summary>Signs a message.</summary>
    /// <param name="message">The message bytes.</param>
    /// <param name="key">The signer's key.</param>
    /// <returns>65 bytes r || s || v.</returns>
    public static byte[] Sign(ReadOnlySpan<byte> message, PrivateKey key)
    {
        var signature = Secp256k1.Sign(Hash(message), key);
        var result = new byte[65];
        signature.R.TryWriteBytes(result.AsSpan(0, 32)[(32 - signature.R.GetByteCount(true))..], out _, isUnsigned: true, isBigEndian: true);
        signature.S.TryWriteBytes(result.AsSpan(32, 32)[(32 - signature.S.GetByteCount(true))..], out _, isUnsigned: true, isBigEndian: true);
        result[64] = (byte)(27 + signature.RecoveryId);
        return result;
    }

    /// <summary>The address that signed a message.</summary>
    /// <param name="message">The message bytes.</param>
    /// <param name="signature">65 bytes r || s || v, v being 27, 28, 0 or 1.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="CryptographicException">The signature is malformed or matches no key.</exception>
    public static Address RecoverSigner(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 65)
        {
            throw new CryptographicException($"a signature is 65 bytes, not {signature.Length}");
        }

        var v = signature[64];
        var recoveryId = v switch
        {
            27 or 28 => v - 27,
            0 or 1 => v,
            _ => throw new CryptographicException($"signature v is {v}, not 27 or 28"),
        };
        var r = new BigInteger(signature[..32], isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature[32..64], isUnsigned: true, isBigEndian: true);
        return Secp256k1.ToAddress(Secp256k1.Recover(Hash(message), new Signature(r, s, recoveryId)));
    }
}
