using System.Text.RegularExpressions;

namespace DePin.Api.Tests;

public sealed class PatternsTests
{
    [Theory]
    [InlineData("0.05", true)]
    [InlineData("3.20", true)]
    [InlineData("12", true)]
    [InlineData("0.000001", true)]
    [InlineData("0", false)]
    [InlineData("0.000", false)]
    [InlineData("-1", false)]
    [InlineData("1e3", false)]
    [InlineData("01.5", false)]
    [InlineData("1.", false)]
    [InlineData(".5", false)]
    [InlineData("1,5", false)]
    [InlineData("", false)]
    public void PositiveAmount_Matches_OnlyPositiveDecimals(string value, bool valid)
    {
        Assert.Equal(valid, Regex.IsMatch(value, Patterns.PositiveAmount));
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("0.0", true)]
    [InlineData("1234.567890", true)]
    [InlineData("-0.1", false)]
    [InlineData("NaN", false)]
    public void Amount_Matches_NonNegativeDecimals(string value, bool valid)
    {
        Assert.Equal(valid, Regex.IsMatch(value, Patterns.Amount));
    }

    [Theory]
    [InlineData("0x5FbDB2315678afecb367f032d93F642f64180aa3", true)]
    [InlineData("0x0000000000000000000000000000000000000000", true)]
    [InlineData("5FbDB2315678afecb367f032d93F642f64180aa3", false)]
    [InlineData("0x5FbDB2315678afecb367f032d93F642f64180aa", false)]
    [InlineData("0x5FbDB2315678afecb367f032d93F642f64180aa3f", false)]
    [InlineData("0xZZbDB2315678afecb367f032d93F642f64180aa3", false)]
    public void Address_Matches_TwentyHexBytes(string value, bool valid)
    {
        Assert.Equal(valid, Regex.IsMatch(value, Patterns.Address));
    }

    [Theory]
    [InlineData("eu-west", true)]
    [InlineData("H100", true)]
    [InlineData("0x5FbDB2315678afecb367f032d93F642f64180aa3", true)]
    [InlineData("-eu", false)]
    [InlineData("eu west", false)]
    [InlineData("eu/west", false)]
    public void LabelValue_Matches_KubernetesLabelValues(string value, bool valid)
    {
        Assert.Equal(valid, Regex.IsMatch(value, Patterns.LabelValue));
    }

    [Theory]
    [InlineData("https://rpc.example.org", true)]
    [InlineData("http://127.0.0.1:8545/", true)]
    [InlineData("ftp://example.org", false)]
    [InlineData("https://", false)]
    [InlineData("https://exa mple.org", false)]
    public void HttpUrl_Matches_HttpAndHttpsUrls(string value, bool valid)
    {
        Assert.Equal(valid, Regex.IsMatch(value, Patterns.HttpUrl));
    }
}
