namespace DePin.Ethereum.Tests;

public sealed class KeccakTests
{
    [Theory]
    [InlineData("", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")]
    [InlineData("abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")]
    [InlineData("transfer(address,uint256)", "0xa9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b")]
    [InlineData("Transfer(address,address,uint256)", "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")]
    public void Hash_KnownInputs_GivesTheKnownDigest(string input, string digest)
    {
        Assert.Equal(digest, Hex.Encode(Keccak.Hash(input)));
    }
}
