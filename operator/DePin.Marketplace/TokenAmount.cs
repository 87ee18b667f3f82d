using System.Globalization;
using System.Numerics;

namespace DePin.Marketplace;

/// <summary>Decimal token amounts as the API writes them ("0.05") against integer token units.</summary>
public static class TokenAmount
{
    /// <summary>Converts a decimal amount to token units.</summary>
    /// <param name="amount">For example <c>0.05</c>.</param>
    /// <param name="decimals">The token's decimals, for example 6.</param>
    /// <returns>For example 50000.</returns>
    /// <exception cref="FormatException">Not a non-negative decimal, or more fractional digits than the token has.</exception>
    public static BigInteger Parse(string amount, int decimals)
    {
        ArgumentNullException.ThrowIfNull(amount);
        var parts = amount.Split('.');
        if (parts.Length > 2 || parts[0].Length == 0 || !parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
        {
            throw new FormatException($"\"{amount}\" is not a decimal amount such as 0.05");
        }

        var fraction = parts.Length == 2 ? parts[1].TrimEnd('0') : "";
        if (fraction.Length > decimals)
        {
            throw new FormatException($"\"{amount}\" has more than {decimals} decimal places, the token's precision");
        }

        return BigInteger.Parse(parts[0] + fraction.PadRight(decimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>Converts token units to a decimal amount without trailing zeros.</summary>
    /// <param name="units">For example 50000.</param>
    /// <param name="decimals">The token's decimals.</param>
    /// <returns>For example <c>0.05</c>.</returns>
    public static string Format(BigInteger units, int decimals)
    {
        var negative = units.Sign < 0;
        var digits = BigInteger.Abs(units).ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        var whole = digits[..^decimals];
        var fraction = decimals > 0 ? digits[^decimals..].TrimEnd('0') : "";
        return (negative ? "-" : "") + whole + (fraction.Length > 0 ? "." + fraction : "");
    }
}
