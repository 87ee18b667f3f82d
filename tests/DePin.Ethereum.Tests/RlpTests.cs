using System.Numerics;
using System.Text;

namespace DePin.Ethereum.Tests;

public sealed class RlpTests
{
    private static RlpString S(string text) => new(Encoding.ASCII.GetBytes(text));

    private static RlpList L(params RlpItem[] items) => new(items);

    public static TheoryData<string, RlpItem, string> Vectors() => new()
    {
        { "dog", S("dog"), "0x83646f67" },
        { "cat and dog", L(S("cat"), S("dog")), "0xc88363617483646f67" },
        { "empty string", S(""), "0x80" },
        { "empty list", L(), "0xc0" },
        { "byte 0x0f", new RlpString([0x0f]), "0x0f" },
        { "bytes 0x0400", new RlpString([0x04, 0x00]), "0x820400" },
        { "set theoretic three", L(L(), L(L()), L(L(), L(L()))), "0xc7c0c1c0c3c0c1c0" },
        {
            "56-byte string",
            S("Lorem ipsum dolor sit amet, consectetur adipisicing elit"),
            "0xb8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_DocumentedExamples_MatchAndDecodeBack(string name, RlpItem item, string encoding)
    {
        var encoded = Rlp.Encode(item);

        Assert.True(Hex.Encode(encoded) == encoding, name);
        Assert.Equal(encoding, Hex.Encode(Rlp.Encode(Rlp.Decode(encoded))));
    }

    [Theory]
    [InlineData(0, "0x80")]
    [InlineData(15, "0x0f")]
    [InlineData(1024, "0x820400")]
    [InlineData(100000, "0x830186a0")]
    public void Encode_Integers_UseMinimalBigEndianBytes(long value, string encoding)
    {
        Assert.Equal(encoding, Hex.Encode(Rlp.Encode(new BigInteger(value))));
    }

    [Theory]
    [InlineData("0x8100", "single byte below 0x80 with a prefix")]
    [InlineData("0xb80100", "long form for a short payload")]
    [InlineData("0x83646f", "payload shorter than its length")]
    [InlineData("0x83646f6767", "trailing byte")]
    [InlineData("0xc3836f", "list payload ended early")]
    public void Decode_NonCanonicalOrTruncated_Throws(string input, string why)
    {
        var error = Assert.Throws<FormatException>(() => Rlp.Decode(Hex.Decode(input)));

        Assert.False(string.IsNullOrEmpty(error.Message), $"{why}: the error does not say what is wrong");
    }
}
