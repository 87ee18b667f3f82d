using System.Numerics;

namespace DePin.Ethereum;

/// <summary>A legacy (pre-EIP-1559) transaction, signed with EIP-155 replay protection.</summary>
/// <param name="Nonce">The sender's nonce.</param>
/// <param name="GasPrice">Price per gas, in wei.</param>
/// <param name="GasLimit">Most gas the transaction may use.</param>
/// <param name="To">The recipient, or null to create a contract.</param>
/// <param name="Value">Wei sent.</param>
/// <param name="Data">Call data.</param>
/// <param name="ChainId">The chain the signature is valid on.</param>
public sealed record LegacyTransaction(BigInteger Nonce, BigInteger GasPrice, BigInteger GasLimit, Address? To, BigInteger Value, byte[] Data, BigInteger ChainId)
{
    /// <summary>The hash that is signed: Keccak of RLP(nonce, gasPrice, gas, to, value, data, chainId, 0, 0).</summary>
    /// <returns>32 bytes.</returns>
    public byte[] SigningHash() => Keccak.Hash(Rlp.EncodeList([.. Fields(), Rlp.Encode(ChainId), Rlp.Encode(BigInteger.Zero), Rlp.Encode(BigInteger.Zero)]));

    /// <summary>Signs the transaction.</summary>
    /// <param name="key">The sender's key.</param>
    /// <returns>The raw transaction for <c>eth_sendRawTransaction</c>.</returns>
    public byte[] Sign(PrivateKey key)
    {
        var signature = Secp256k1.Sign(SigningHash(), key);
        var v = (ChainId * 2) + 35 + signature.RecoveryId;
        return Rlp.EncodeList([.. Fields(), Rlp.Encode(v), Rlp.Encode(signature.R), Rlp.Encode(signature.S)]);
    }

    private byte[][] Fields() =>
    [
        Rlp.Encode(Nonce),
        Rlp.Encode(GasPrice),
        Rlp.Encode(GasLimit),
        To is { } to ? Rlp.Encode(to.Bytes) : Rlp.Encode(ReadOnlySpan<byte>.Empty),
        Rlp.Encode(Value),
        Rlp.Encode(Data),
    ];
}
