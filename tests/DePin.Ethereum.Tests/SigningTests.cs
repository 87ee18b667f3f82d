using System.Numerics;
using System.Security.Cryptography;

namespace DePin.Ethereum.Tests;

public sealed class SigningTests
{
    private static readonly PrivateKey Eip155Key = PrivateKey.FromHex("0x4646464646464646464646464646464646464646464646464646464646464646");

    // The worked example of EIP-155.
    private static readonly LegacyTransaction Eip155Example = new(
        Nonce: 9,
        GasPrice: 20_000_000_000,
        GasLimit: 21_000,
        To: Address.Parse("0x3535353535353535353535353535353535353535"),
        Value: BigInteger.Parse("1000000000000000000", System.Globalization.CultureInfo.InvariantCulture),
        Data: [],
        ChainId: 1);

    [Fact]
    public void Eip155Example_SigningHash_IsTheDocumentedOne()
    {
        Assert.Equal("0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53", Hex.Encode(Eip155Example.SigningHash()));
    }

    [Fact]
    public void Eip155Example_Signature_IsTheDocumentedOne()
    {
        var signature = Secp256k1.Sign(Eip155Example.SigningHash(), Eip155Key);

        Assert.Equal(BigInteger.Parse("18515461264373351373200002665853028612451056578545711640558177340181847433846", System.Globalization.CultureInfo.InvariantCulture), signature.R);
        Assert.Equal(BigInteger.Parse("46948507304638947509940763649030358759909902576025900602547168820602576006531", System.Globalization.CultureInfo.InvariantCulture), signature.S);
        Assert.Equal(37, 1 * 2 + 35 + signature.RecoveryId);
    }

    [Fact]
    public void Eip155Example_RawTransaction_IsTheDocumentedOne()
    {
        Assert.Equal(
            "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83",
            Hex.Encode(Eip155Example.Sign(Eip155Key)));
    }

    [Fact]
    public void Sign_ManyHashes_AlwaysLowS_AndRecoversTheSigner()
    {
        var key = PrivateKey.FromHex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        var halfOrder = BigInteger.Parse("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < 64; i++)
        {
            var hash = Keccak.Hash($"message {i}");
            var signature = Secp256k1.Sign(hash, key);

            Assert.True(signature.S <= halfOrder, $"high s for message {i}");
            Assert.Equal(key.Address, Secp256k1.ToAddress(Secp256k1.Recover(hash, signature)));
        }

        // The first account of anvil and Hardhat, a well-known pair.
        Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", key.Address.ToString());
    }

    [Fact]
    public void Sign_SameInput_IsDeterministic()
    {
        var hash = Keccak.Hash("deterministic");

        Assert.Equal(Secp256k1.Sign(hash, Eip155Key), Secp256k1.Sign(hash, Eip155Key));
    }

    [Fact]
    public void Recover_HighS_IsRefused()
    {
        var hash = Keccak.Hash("malleable");
        var signature = Secp256k1.Sign(hash, Eip155Key);
        var order = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Throws<CryptographicException>(() => Secp256k1.Recover(hash, signature with { S = order - signature.S, RecoveryId = 1 - signature.RecoveryId }));
    }

    [Fact]
    public void PrivateKey_NeverAppearsInTextOrErrors()
    {
        const string secret = "4646464646464646464646464646464646464646464646464646464646464646";
        var key = PrivateKey.FromHex(secret);

        Assert.DoesNotContain(secret, key.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(secret[..16], key.ToString(), StringComparison.OrdinalIgnoreCase);
        var error = Assert.Throws<FormatException>(() => PrivateKey.FromHex(secret[..63] + "z"));
        Assert.DoesNotContain(secret[..16], error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ArgumentException>(() => PrivateKey.FromHex("0x" + new string('0', 64)));
    }

    [Fact]
    public void KeyFiles_AreRead_AndTheirContentNeverEchoed()
    {
        var directory = Directory.CreateTempSubdirectory("keys-");
        try
        {
            var good = Path.Combine(directory.FullName, "good");
            File.WriteAllText(good, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n");
            Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", PrivateKey.FromFile(good).Address.ToString());

            var bad = Path.Combine(directory.FullName, "bad");
            File.WriteAllText(bad, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ffXX");
            var error = Assert.Throws<FormatException>(() => PrivateKey.FromFile(bad));
            Assert.Contains(bad, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("ac0974", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
