namespace DePin.Ethereum.Tests;

public sealed class AddressTests
{
    // The examples of EIP-55.
    [Theory]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")]
    [InlineData("0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB")]
    [InlineData("0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb")]
    public void ToChecksumString_Eip55Examples_RoundTrip(string address)
    {
        Assert.Equal(address, Address.Parse(address.ToLowerInvariant()).ToChecksumString());
        Assert.Equal(address, Address.Parse(address).ToString());
    }

    [Fact]
    public void Parse_MixedCaseWithAWrongChecksum_Throws()
    {
        Assert.Throws<FormatException>(() => Address.Parse("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
    }

    [Theory]
    [InlineData("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA")]
    [InlineData("0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    public void Parse_NotAnAddress_Throws(string text)
    {
        Assert.Throws<FormatException>(() => Address.Parse(text));
    }

    [Fact]
    public void Equality_IgnoresTheCaseItWasWrittenIn()
    {
        Assert.Equal(Address.Parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
    }
}
