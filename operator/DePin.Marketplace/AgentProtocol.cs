using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DePin.Ethereum;

namespace DePin.Marketplace;

/// <summary>
/// How tenants sign requests to a provider agent. The agent recovers the signer and serves the request
/// only when it is the lease's tenant, the timestamp is within <see cref="MaxClockSkew"/> of its clock
/// and the signature has not been seen before.
/// </summary>
public static class TenantRequest
{
    /// <summary>Header carrying the Unix time in seconds.</summary>
    public const string TimestampHeader = "X-DePin-Timestamp";

    /// <summary>Header carrying the 65-byte EIP-191 signature as hex.</summary>
    public const string SignatureHeader = "X-DePin-Signature";

    /// <summary>Header naming the signer's address; the signature must recover to it.</summary>
    public const string SignerHeader = "X-DePin-Signer";

    /// <summary>How far a request's timestamp may be from the agent's clock.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The signed text: method, path with query, SHA-256 of the body as hex, timestamp and lease id, one
    /// per line.
    /// </summary>
    /// <param name="method">The HTTP method, upper case.</param>
    /// <param name="pathAndQuery">The path and query, as sent.</param>
    /// <param name="body">The body bytes (empty for none).</param>
    /// <param name="timestamp">Unix seconds.</param>
    /// <param name="leaseId">The lease the request acts on.</param>
    /// <returns>The message bytes.</returns>
    public static byte[] Message(string method, string pathAndQuery, ReadOnlySpan<byte> body, long timestamp, string leaseId) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{method}\n{pathAndQuery}\n{Convert.ToHexStringLower(SHA256.HashData(body))}\n{timestamp}\n{leaseId}"));

    /// <summary>Signs a request.</summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="pathAndQuery">The path and query.</param>
    /// <param name="body">The body.</param>
    /// <param name="timestamp">Unix seconds.</param>
    /// <param name="leaseId">The lease.</param>
    /// <param name="tenant">The tenant's key.</param>
    /// <returns>The signature header value.</returns>
    public static string Sign(string method, string pathAndQuery, ReadOnlySpan<byte> body, long timestamp, string leaseId, PrivateKey tenant) =>
        Hex.Encode(PersonalMessage.Sign(Message(method, pathAndQuery, body, timestamp, leaseId), tenant));
}

/// <summary>A provider's signed statement that it is alive, answering a caller's nonce.</summary>
/// <param name="Provider">The provider's address.</param>
/// <param name="TimeMillis">The agent's clock, Unix milliseconds.</param>
/// <param name="Nonce">The caller's nonce, echoed so the answer cannot be replayed.</param>
/// <param name="Sequence">Position in a streamed heartbeat, 0 for a single one.</param>
/// <param name="Leases">Leases the agent serves.</param>
/// <param name="Pods">Pods it runs.</param>
/// <param name="Signature">EIP-191 signature of <see cref="Message"/> by the provider key.</param>
public sealed record Heartbeat(string Provider, long TimeMillis, string Nonce, long Sequence, int Leases, int Pods, string Signature)
{
    /// <summary>The signed text.</summary>
    /// <param name="provider">The provider's address.</param>
    /// <param name="timeMillis">Unix milliseconds.</param>
    /// <param name="nonce">The caller's nonce.</param>
    /// <param name="sequence">The sequence number.</param>
    /// <param name="leases">Leases served.</param>
    /// <param name="pods">Pods run.</param>
    /// <returns>The message bytes.</returns>
    public static byte[] Message(string provider, long timeMillis, string nonce, long sequence, int leases, int pods) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"depin-heartbeat\n{provider}\n{timeMillis}\n{nonce}\n{sequence}\n{leases}\n{pods}"));

    /// <summary>Creates and signs a heartbeat.</summary>
    /// <param name="key">The provider key.</param>
    /// <param name="timeMillis">Unix milliseconds.</param>
    /// <param name="nonce">The caller's nonce.</param>
    /// <param name="sequence">The sequence number.</param>
    /// <param name="leases">Leases served.</param>
    /// <param name="pods">Pods run.</param>
    /// <returns>The heartbeat.</returns>
    public static Heartbeat Create(PrivateKey key, long timeMillis, string nonce, long sequence, int leases, int pods)
    {
        ArgumentNullException.ThrowIfNull(key);
        var provider = key.Address.ToString();
        return new Heartbeat(provider, timeMillis, nonce, sequence, leases, pods, Hex.Encode(PersonalMessage.Sign(Message(provider, timeMillis, nonce, sequence, leases, pods), key)));
    }

    /// <summary>Whether the heartbeat was signed by the expected provider for the expected nonce.</summary>
    /// <param name="provider">The provider it must come from.</param>
    /// <param name="nonce">The nonce the caller sent.</param>
    /// <returns>True when it verifies.</returns>
    public bool Verify(Address provider, string nonce)
    {
        if (Nonce != nonce || !string.Equals(Provider, provider.ToString(), StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            return PersonalMessage.RecoverSigner(Message(Provider, TimeMillis, Nonce, Sequence, Leases, Pods), Hex.Decode(Signature)) == provider;
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            return false;
        }
    }
}
