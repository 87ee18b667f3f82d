using System.Collections.Concurrent;
using System.Numerics;
using DePin.Ethereum.Rpc;

namespace DePin.Ethereum.Transactions;

/// <summary>
/// Hands out nonces for senders of this process. A reservation holds its sender's nonce exclusively
/// until it is disposed, so concurrent senders on one key get consecutive nonces with no gap: a
/// transaction the node refused gives its nonce back, and after an uncertain outcome (the node may or
/// may not hold the transaction) the next reservation asks the node again.
/// </summary>
/// <param name="client">The node, asked for the pending transaction count.</param>
public sealed class NonceManager(IEthereumClient client)
{
    private readonly ConcurrentDictionary<Address, Slot> _slots = new();

    /// <summary>Waits for the sender's turn and reserves its next nonce.</summary>
    /// <param name="sender">The sending account.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The reservation; dispose it after sending.</returns>
    public async Task<NonceReservation> ReserveAsync(Address sender, CancellationToken cancellationToken = default)
    {
        var slot = _slots.GetOrAdd(sender, _ => new Slot());
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            slot.Next ??= await client.GetTransactionCountAsync(sender, pending: true, cancellationToken).ConfigureAwait(false);
            return new NonceReservation(slot, slot.Next.Value);
        }
        catch
        {
            slot.Gate.Release();
            throw;
        }
    }

    internal sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public BigInteger? Next { get; set; }
    }
}

/// <summary>A nonce held for one transaction.</summary>
public sealed class NonceReservation : IDisposable
{
    private readonly NonceManager.Slot _slot;
    private bool _disposed;

    internal NonceReservation(NonceManager.Slot slot, BigInteger nonce)
    {
        _slot = slot;
        Nonce = nonce;
    }

    /// <summary>The nonce.</summary>
    public BigInteger Nonce { get; }

    /// <summary>The node accepted the transaction: the next reservation gets the following nonce.</summary>
    public void Commit() => _slot.Next = Nonce + 1;

    /// <summary>The outcome is unknown or the count is stale: the next reservation asks the node.</summary>
    public void Invalidate() => _slot.Next = null;

    /// <summary>Ends the reservation. Without <see cref="Commit"/> the nonce is handed out again.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _slot.Gate.Release();
        }
    }
}
