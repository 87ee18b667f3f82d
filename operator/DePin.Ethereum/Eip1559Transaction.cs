using System.Numerics;

namespace DePin.Ethereum;

/// <summary>A signed transaction ready for <c>eth_sendRawTransaction</c>.</summary>
/// <param name="Raw">The encoded transaction.</param>
public sealed record SignedTransaction(byte[] Raw)
{
    /// <summary>The transaction hash: Keccak-256 of the raw bytes.</summary>
    public string Hash { get; } = Hex.Encode(Keccak.Hash(Raw));
}

/// <summary>An EIP-1559 (type 2) transaction with an empty access list.</summary>
/// <param name="ChainId">The chain the signature is valid on.</param>
/// <param name="Nonce">The sender's nonce.</param>
/// <param name="MaxPriorityFeePerGas">The most tip per gas, in wei.</param>
/// <param name="MaxFeePerGas">The most base fee plus tip per gas, in wei.</param>
/// <param name="GasLimit">Most gas the transaction may use.</param>
/// <param name="To">The recipient, or null to create a contract.</param>
/// <param name="Value">Wei sent.</param>
/// <param name="Data">Call data.</param>
public sealed record Eip1559Transaction(
    BigInteger ChainId,
    BigInteger Nonce,
    BigInteger MaxPriorityFeePerGas,
    BigInteger MaxFeePerGas,
    BigInteger GasLimit,
    Address? To,
    BigInteger Value,
    byte[] Data)
{
    private const byte TransactionType = 0x02;

    /// <summary>The hash that is signed: Keccak of 0x02 followed by the RLP of the fields.</summary>
    /// <returns>32 bytes.</returns>
    public byte[] SigningHash() => Keccak.Hash([TransactionType, .. Rlp.EncodeList(Fields())]);

    /// <summary>Signs the transaction.</summary>
    /// <param name="key">The sender's key.</param>
    /// <returns>The typed envelope 0x02 || RLP(fields, yParity, r, s).</returns>
    public SignedTransaction Sign(PrivateKey key)
    {
        var signature = Secp256k1.Sign(SigningHash(), key);
        byte[] body = Rlp.EncodeList([.. Fields(), Rlp.Encode(signature.RecoveryId), Rlp.Encode(signature.R), Rlp.Encode(signature.S)]);
        return new SignedTransaction([TransactionType, .. body]);
    }

    private byte[][] Fields() =>
    [
        Rlp.Encode(ChainId),
        Rlp.Encode(Nonce),
        Rlp.Encode(MaxPriorityFeePerGas),
        Rlp.Encode(MaxFeePerGas),
        Rlp.Encode(GasLimit),
        To is { } to ? Rlp.Encode(to.Bytes) : Rlp.Encode(ReadOnlySpan<byte>.Empty),
        Rlp.Encode(Value),
        Rlp.Encode(Data),
        Rlp.EncodeList(), // access list
    ];
}
