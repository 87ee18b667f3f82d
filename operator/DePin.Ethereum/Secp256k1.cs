using System.Numerics;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace DePin.Ethereum;

/// <summary>An ECDSA signature over secp256k1 with its recovery id.</summary>
/// <param name="R">r.</param>
/// <param name="S">s, always in the lower half of the curve order (EIP-2).</param>
/// <param name="RecoveryId">0 or 1: which of the candidate public keys signed.</param>
public sealed record Signature(BigInteger R, BigInteger S, int RecoveryId);

/// <summary>
/// A secp256k1 private key. It never appears in ToString, logs or exception messages; read it only
/// from a file or a Kubernetes Secret.
/// </summary>
public sealed class PrivateKey
{
    private readonly byte[] _key;
    private readonly Lazy<byte[]> _publicKey;
    private readonly Lazy<Address> _address;

    /// <summary>Creates a key from its 32 bytes.</summary>
    /// <param name="key">The key; it must lie between 1 and the curve order.</param>
    public PrivateKey(ReadOnlySpan<byte> key)
    {
        var value = new BcBigInteger(1, key.ToArray());
        if (key.Length != 32 || value.SignValue <= 0 || value.CompareTo(Secp256k1.Curve.N) >= 0)
        {
            throw new ArgumentException("a secp256k1 private key is 32 bytes between 1 and the curve order", nameof(key));
        }

        _key = key.ToArray();
        _publicKey = new Lazy<byte[]>(() => Secp256k1.Curve.G.Multiply(Scalar).Normalize().GetEncoded(false)[1..]);
        _address = new Lazy<Address>(() => Secp256k1.ToAddress(_publicKey.Value));
    }

    /// <summary>Parses 64 hex digits, with or without <c>0x</c>, surrounding whitespace ignored (as in a key file).</summary>
    /// <param name="hex">The key as hex.</param>
    /// <returns>The key.</returns>
    public static PrivateKey FromHex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        try
        {
            return new PrivateKey(Hex.Decode(hex.Trim()));
        }
        catch (FormatException)
        {
            // The message must not echo the input: it is a secret.
            throw new FormatException("the private key is not 64 hex digits");
        }
    }

    /// <summary>
    /// Reads a key file: 64 hex digits, with or without <c>0x</c>, as a mounted Kubernetes Secret or a
    /// provider's key file holds it. Errors name the file, never its content.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The key.</returns>
    /// <exception cref="FormatException">The file does not hold a key.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PrivateKey FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var text = File.ReadAllText(path);
        try
        {
            return FromHex(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new FormatException($"{path} does not hold a secp256k1 private key (64 hex digits)");
        }
    }

    /// <summary>The account address of the key.</summary>
    public Address Address => _address.Value;

    /// <summary>The uncompressed public key without its 0x04 prefix (64 bytes).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Value.Clone();

    internal BcBigInteger Scalar => new(1, _key);

    /// <summary>Never the key itself.</summary>
    /// <returns>A redacted description naming the address.</returns>
    public override string ToString() => $"PrivateKey(redacted, address {Address})";
}

/// <summary>Signing, verification and public-key recovery on secp256k1, deterministic (RFC 6979) and with low s.</summary>
public static class Secp256k1
{
    internal static readonly X9ECParameters Curve = CustomNamedCurves.GetByName("secp256k1");
    private static readonly BcBigInteger HalfN = Curve.N.ShiftRight(1);
    private static readonly FixedPointCombMultiplier BaseMultiplier = new();

    /// <summary>Signs a 32-byte hash.</summary>
    /// <param name="hash">The hash.</param>
    /// <param name="key">The key.</param>
    /// <returns>The signature, with s in the lower half and the recovery id that finds the key again.</returns>
    public static Signature Sign(ReadOnlySpan<byte> hash, PrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (hash.Length != 32)
        {
            throw new ArgumentException("sign a 32-byte hash", nameof(hash));
        }

        // ECDSA with the nonce of RFC 6979; the recovery id is the parity of R's y, flipped when s is
        // replaced by n - s (EIP-2), which negates R. r = x mod n differs from x only when x >= n, whose
        // odds are about 2^-128, and such a nonce is skipped.
        var d = key.Scalar;
        var e = new BcBigInteger(1, hash.ToArray());
        var nonces = new HMacDsaKCalculator(new Sha256Digest());
        nonces.Init(Curve.N, d, hash.ToArray());
        while (true)
        {
            var k = nonces.NextK();
            var point = BaseMultiplier.Multiply(Curve.G, k).Normalize();
            var x = point.AffineXCoord.ToBigInteger();
            var r = x.Mod(Curve.N);
            if (r.SignValue == 0 || !r.Equals(x))
            {
                continue;
            }

            var s = k.ModInverse(Curve.N).Multiply(e.Add(d.Multiply(r))).Mod(Curve.N);
            if (s.SignValue == 0)
            {
                continue;
            }

            var recoveryId = point.AffineYCoord.TestBitZero() ? 1 : 0;
            if (s.CompareTo(HalfN) > 0)
            {
                s = Curve.N.Subtract(s);
                recoveryId ^= 1;
            }

            return new Signature(ToBig(r), ToBig(s), recoveryId);
        }
    }

    /// <summary>Recovers the public key that made a signature.</summary>
    /// <param name="hash">The signed 32-byte hash.</param>
    /// <param name="signature">The signature.</param>
    /// <returns>The uncompressed public key without its prefix (64 bytes).</returns>
    /// <exception cref="CryptographicException">The signature is invalid.</exception>
    public static byte[] Recover(ReadOnlySpan<byte> hash, Signature signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var r = FromBig(signature.R);
        var s = FromBig(signature.S);
        if (r.SignValue <= 0 || r.CompareTo(Curve.N) >= 0 || s.SignValue <= 0 || s.CompareTo(HalfN) > 0 || signature.RecoveryId is < 0 or > 1)
        {
            throw new CryptographicException("signature values are out of range (s must be in the lower half)");
        }

        return Recover(hash, r, s, signature.RecoveryId) ?? throw new CryptographicException("no public key matches the signature");
    }

    /// <summary>The address of a public key: the last 20 bytes of its Keccak-256.</summary>
    /// <param name="publicKey">Uncompressed, without its prefix (64 bytes).</param>
    /// <returns>The address.</returns>
    public static Address ToAddress(ReadOnlySpan<byte> publicKey) => new(Keccak.Hash(publicKey).AsSpan(12));

    // SEC 1, section 4.1.6, for the two candidates whose x equals r (x = r + n never occurs in practice on secp256k1).
    private static byte[]? Recover(ReadOnlySpan<byte> hash, BcBigInteger r, BcBigInteger s, int recoveryId)
    {
        var x = r;
        if (x.CompareTo(Curve.Curve.Field.Characteristic) >= 0)
        {
            return null;
        }

        var compressed = new byte[33];
        compressed[0] = (byte)(0x02 + (recoveryId & 1));
        var xBytes = x.ToByteArrayUnsigned();
        xBytes.CopyTo(compressed, 33 - xBytes.Length);
        Org.BouncyCastle.Math.EC.ECPoint point;
        try
        {
            point = Curve.Curve.DecodePoint(compressed);
        }
        catch (ArgumentException)
        {
            return null;
        }

        var e = new BcBigInteger(1, hash.ToArray());
        var rInverse = r.ModInverse(Curve.N);
        var q = ECAlgorithms.SumOfTwoMultiplies(Curve.G, e.Negate().Mod(Curve.N).Multiply(rInverse).Mod(Curve.N), point, s.Multiply(rInverse).Mod(Curve.N)).Normalize();
        return q.IsInfinity ? null : q.GetEncoded(false)[1..];
    }

    private static BigInteger ToBig(BcBigInteger value) => new(value.ToByteArrayUnsigned(), isUnsigned: true, isBigEndian: true);

    private static BcBigInteger FromBig(BigInteger value) => new(1, value.ToByteArray(isUnsigned: true, isBigEndian: true));
}
