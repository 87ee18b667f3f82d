using System.Numerics;
using DePin.Ethereum.Abi;

namespace DePin.Ethereum.Tests;

public class AbiTests
{
    private static readonly ContractAbi Examples = ContractAbi.Parse("""
        [
          {"type":"function","name":"baz","inputs":[{"name":"x","type":"uint32"},{"name":"y","type":"bool"}],"outputs":[{"name":"r","type":"bool"}],"stateMutability":"pure"},
          {"type":"function","name":"sam","inputs":[{"type":"bytes"},{"type":"bool"},{"type":"uint256[]"}],"outputs":[],"stateMutability":"pure"},
          {"type":"function","name":"f","inputs":[{"type":"uint256"},{"type":"uint32[]"},{"type":"bytes10"},{"type":"bytes"}],"outputs":[],"stateMutability":"pure"},
          {"type":"function","name":"g","inputs":[{"type":"uint256[][]"},{"type":"string[]"}],"outputs":[],"stateMutability":"pure"},
          {"type":"function","name":"put","inputs":[{"name":"items","type":"tuple[]","components":[{"name":"id","type":"int64"},{"name":"label","type":"string"},{"name":"owner","type":"address"}]}],"outputs":[],"stateMutability":"nonpayable"},
          {"type":"error","name":"TooHigh","inputs":[{"name":"price","type":"uint256"},{"name":"maximum","type":"uint256"}]},
          {"type":"event","name":"Transfer","anonymous":false,"inputs":[{"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false}]}
        ]
        """);

    private static string Words(params string[] words) => string.Concat(words);

    // The examples of the Solidity ABI specification.
    [Fact]
    public void StaticArguments_MatchTheSpecificationExample()
    {
        var function = Examples.Function("baz");
        Assert.Equal("baz(uint32,bool)", function.Signature);
        Assert.Equal(
            "0xcdcd77c0" + Words(
                "0000000000000000000000000000000000000000000000000000000000000045",
                "0000000000000000000000000000000000000000000000000000000000000001"),
            Hex.Encode(function.EncodeCall(69u, true)));
    }

    [Fact]
    public void DynamicArguments_MatchTheSpecificationExample()
    {
        var sam = Examples.Function("sam").EncodeCall("dave"u8.ToArray(), true, new BigInteger[] { 1, 2, 3 });
        Assert.Equal(
            "0xa5643bf2" + Words(
                "0000000000000000000000000000000000000000000000000000000000000060",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "00000000000000000000000000000000000000000000000000000000000000a0",
                "0000000000000000000000000000000000000000000000000000000000000004",
                "6461766500000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000003",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000002",
                "0000000000000000000000000000000000000000000000000000000000000003"),
            Hex.Encode(sam));

        var f = Examples.Function("f").EncodeCall(0x123, new[] { 0x456, 0x789 }, "1234567890"u8.ToArray(), "Hello, world!"u8.ToArray());
        Assert.Equal(
            "0x8be65246" + Words(
                "0000000000000000000000000000000000000000000000000000000000000123",
                "0000000000000000000000000000000000000000000000000000000000000080",
                "3132333435363738393000000000000000000000000000000000000000000000",
                "00000000000000000000000000000000000000000000000000000000000000e0",
                "0000000000000000000000000000000000000000000000000000000000000002",
                "0000000000000000000000000000000000000000000000000000000000000456",
                "0000000000000000000000000000000000000000000000000000000000000789",
                "000000000000000000000000000000000000000000000000000000000000000d",
                "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"),
            Hex.Encode(f));
    }

    [Fact]
    public void NestedDynamicArrays_MatchTheSpecificationExample()
    {
        var g = Examples.Function("g").EncodeCall(new object[] { new[] { 1, 2 }, new[] { 3 } }, new[] { "one", "two", "three" });
        Assert.Equal(
            "0x2289b18c" + Words(
                "0000000000000000000000000000000000000000000000000000000000000040",
                "0000000000000000000000000000000000000000000000000000000000000140",
                "0000000000000000000000000000000000000000000000000000000000000002",
                "0000000000000000000000000000000000000000000000000000000000000040",
                "00000000000000000000000000000000000000000000000000000000000000a0",
                "0000000000000000000000000000000000000000000000000000000000000002",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000002",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000003",
                "0000000000000000000000000000000000000000000000000000000000000003",
                "0000000000000000000000000000000000000000000000000000000000000060",
                "00000000000000000000000000000000000000000000000000000000000000a0",
                "00000000000000000000000000000000000000000000000000000000000000e0",
                "0000000000000000000000000000000000000000000000000000000000000003",
                "6f6e650000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000003",
                "74776f0000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000005",
                "7468726565000000000000000000000000000000000000000000000000000000"),
            Hex.Encode(g));
    }

    [Fact]
    public void EveryKindOfValue_SurvivesARoundTrip()
    {
        var owner = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        var types = new[]
        {
            "address", "bool", "uint8", "uint256", "int8", "int256", "bytes1", "bytes32", "bytes", "string",
            "uint16[3]", "string[]", "(int64,string,address)[]", "(bool,(uint8,bytes))", "bytes[2]",
        }.Select(AbiType.Parse).ToList();
        object?[] values =
        [
            owner, true, (BigInteger)255, BigInteger.Pow(2, 256) - 1, (BigInteger)(-128), -BigInteger.Pow(2, 255), new byte[] { 0xab }, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            new byte[70], "héllo, wörld ✓", new object?[] { (BigInteger)1, (BigInteger)2, (BigInteger)65535 }, new object?[] { "", "a", new string('x', 100) },
            new object?[] { new object?[] { (BigInteger)(-5), "first", owner }, new object?[] { (BigInteger)long.MaxValue, "", owner } },
            new object?[] { false, new object?[] { (BigInteger)7, new byte[] { 1, 2, 3 } } },
            new object?[] { new byte[] { 9 }, Array.Empty<byte>() },
        ];

        var decoded = AbiCodec.Decode(types, AbiCodec.Encode(types, values));

        Assert.Equal(Normalize(values), Normalize(decoded));
    }

    [Fact]
    public void TupleComponents_ComeFromTheJsonAbi()
    {
        var put = Examples.Function("put");
        Assert.Equal("put((int64,string,address)[])", put.Signature);
        var tuple = Assert.IsType<AbiTupleType>(Assert.IsType<AbiArrayType>(put.Inputs[0].Type).Element);
        Assert.Equal(["id", "label", "owner"], tuple.Components.Select(c => c.Name));
    }

    [Fact]
    public void NegativeIntegers_AreTwosComplement()
    {
        var encoded = AbiCodec.Encode([AbiType.Parse("int256"), AbiType.Parse("int8")], [-1, -2]);
        Assert.Equal(new string('f', 64) + new string('f', 62) + "fe", Convert.ToHexStringLower(encoded));
    }

    [Theory]
    [InlineData("uint8", 256)]
    [InlineData("uint256", -1)]
    [InlineData("int8", 128)]
    [InlineData("int8", -129)]
    public void IntegersOutsideTheirType_AreRefused(string type, int value) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => AbiCodec.Encode([AbiType.Parse(type)], [value]));

    [Fact]
    public void ValuesOfTheWrongShape_AreRefusedWithTheType()
    {
        Assert.Contains("bytes4 takes exactly 4 bytes", Assert.Throws<ArgumentException>(() => AbiCodec.Encode([AbiType.Parse("bytes4")], [new byte[3]])).Message, StringComparison.Ordinal);
        Assert.Contains("uint8[2] takes exactly 2 items", Assert.Throws<ArgumentException>(() => AbiCodec.Encode([AbiType.Parse("uint8[2]")], [new[] { 1 }])).Message, StringComparison.Ordinal);
        Assert.Contains("address takes an Address", Assert.Throws<ArgumentException>(() => AbiCodec.Encode([AbiType.Parse("address")], ["0x00"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => AbiCodec.Encode([AbiType.Parse("uint8")], []));
    }

    [Theory]
    [InlineData("uint7")]
    [InlineData("uint264")]
    [InlineData("bytes33")]
    [InlineData("bytes0")]
    [InlineData("fixed128x18")]
    [InlineData("uint256[0]")]
    [InlineData("(uint8")]
    [InlineData("uint8]")]
    public void UnknownTypes_AreRefused(string type) => Assert.Throws<FormatException>(() => AbiType.Parse(type));

    [Fact]
    public void MalformedData_IsRefusedNotGuessed()
    {
        var uintArray = new[] { AbiType.Parse("uint256[]") };
        var word = (string hex) => Convert.FromHexString(hex.PadLeft(64, '0'));

        // Truncated: one word where two are needed.
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode([AbiType.Parse("uint256"), AbiType.Parse("uint256")], word("1")));

        // An offset beyond the data.
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode(uintArray, word("1000")));

        // A length that would need far more data than there is (no huge allocation).
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode(uintArray, (byte[])[.. word("20"), .. word("ffffffff")]));

        // A bool that is neither 0 nor 1, an address with high bits, a uint8 out of range, bytes4 with dirty padding.
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode([AbiType.Parse("bool")], word("2")));
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode([AbiType.Parse("address")], word("1" + new string('0', 40))));
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode([AbiType.Parse("uint8")], word("100")));
        Assert.Throws<AbiDecodingException>(() => AbiCodec.Decode([AbiType.Parse("bytes4")], Convert.FromHexString("aabbccdd01" + new string('0', 54))));
    }

    [Fact]
    public void CustomErrors_AreDecodedBySelector()
    {
        var data = Examples.Error("TooHigh").Selector.ToArray().Concat(AbiCodec.Encode([AbiType.Parse("uint256"), AbiType.Parse("uint256")], [5, 4])).ToArray();

        var error = Examples.DecodeError(data);

        Assert.NotNull(error);
        Assert.Equal("TooHigh", error.Name);
        Assert.Equal("TooHigh(5, 4)", error.ToString());
    }

    [Fact]
    public void BuiltInErrorAndPanic_AreDecoded()
    {
        // Error("nope") and Panic(0x11), as Solidity encodes a require message and an arithmetic overflow.
        var message = Convert.FromHexString("08c379a0" + "0000000000000000000000000000000000000000000000000000000000000020" + "0000000000000000000000000000000000000000000000000000000000000004" + "6e6f706500000000000000000000000000000000000000000000000000000000");
        var panic = Convert.FromHexString("4e487b71" + "0000000000000000000000000000000000000000000000000000000000000011");

        Assert.Equal("Error(\"nope\")", Examples.DecodeError(message)?.ToString());
        Assert.Equal("Panic(17)", Examples.DecodeError(panic)?.ToString());
        Assert.Null(Examples.DecodeError(Convert.FromHexString("deadbeef")));
        Assert.Null(Examples.DecodeError(Array.Empty<byte>()));
    }

    [Fact]
    public void EventLogs_DecodeIndexedAndDataParameters()
    {
        var transfer = Examples.Event("Transfer");
        Assert.Equal("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", Hex.Encode(transfer.Topic.Span));
        var from = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        var to = Address.Parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
        byte[][] topics = [transfer.Topic.ToArray(), [.. new byte[12], .. from.Bytes], [.. new byte[12], .. to.Bytes]];

        var values = transfer.Decode(topics, AbiCodec.Encode([AbiType.Parse("uint256")], [1000]));

        Assert.Equal(from, values["from"]);
        Assert.Equal(to, values["to"]);
        Assert.Equal((BigInteger)1000, values["value"]);
        Assert.Same(transfer, Examples.EventByTopic(topics[0]));
        Assert.Throws<AbiDecodingException>(() => transfer.Decode(topics[..2], Array.Empty<byte>()));
    }

    private static string Normalize(object? value) => value switch
    {
        null => "null",
        byte[] bytes => Hex.Encode(bytes),
        System.Collections.IEnumerable items when value is not string => "[" + string.Join(",", items.Cast<object?>().Select(Normalize)) + "]",
        _ => value.ToString() ?? "",
    };
}
