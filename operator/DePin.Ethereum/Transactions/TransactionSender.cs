using System.Numerics;
using DePin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Ethereum.Transactions;

/// <summary>What to send.</summary>
/// <param name="To">The recipient, or null to deploy a contract.</param>
/// <param name="Data">Call data, or creation code with constructor arguments.</param>
/// <param name="Value">Wei sent.</param>
/// <param name="GasLimit">The gas limit, or null to estimate it.</param>
public sealed record TransactionRequest(Address? To, byte[] Data, BigInteger Value = default, BigInteger? GasLimit = null);

/// <summary>A transaction the node has accepted.</summary>
/// <param name="Hash">Its hash.</param>
/// <param name="Nonce">Its nonce.</param>
/// <param name="Transaction">The signed bytes, resent unchanged if the node loses it.</param>
public sealed record SentTransaction(string Hash, BigInteger Nonce, SignedTransaction Transaction);

/// <summary>Settings of <see cref="TransactionSender"/>.</summary>
public sealed record TransactionOptions
{
    /// <summary>The estimated gas is multiplied by this for the limit. Default 1.25.</summary>
    public double GasMultiplier { get; init; } = 1.25;

    /// <summary>How often a receipt is polled. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a transaction may be unknown to the node before its identical bytes are sent again. Default 5 s.</summary>
    public TimeSpan RebroadcastAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How many times a send is signed again after "nonce too low". Default 5.</summary>
    public int MaxNonceRetries { get; init; } = 5;
}

/// <summary>
/// Signs and sends transactions from one key: gas from <c>eth_estimateGas</c> (a revert surfaces here,
/// before anything is sent), fees from <see cref="FeeEstimator"/>, nonces from <see cref="NonceManager"/>.
/// "already known" counts as success, "nonce too low" and "replacement transaction underpriced" cause a
/// fresh nonce unless the node already holds this very transaction, and a transaction the node has lost
/// (a restart) is sent again as the identical bytes, so it can neither be duplicated nor lost.
/// </summary>
public sealed partial class TransactionSender
{
    private readonly IEthereumClient _client;
    private readonly PrivateKey _key;
    private readonly BigInteger _chainId;
    private readonly NonceManager _nonces;
    private readonly FeeEstimator _fees;
    private readonly TransactionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the sender.</summary>
    /// <param name="client">The node.</param>
    /// <param name="key">The key that signs.</param>
    /// <param name="chainId">The chain id, part of every signature.</param>
    /// <param name="nonces">The nonce manager, shared by every sender of this process.</param>
    /// <param name="fees">The fee estimator.</param>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="logger">Where resends are logged.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    public TransactionSender(IEthereumClient client, PrivateKey key, BigInteger chainId, NonceManager nonces, FeeEstimator fees, TransactionOptions? options = null, ILogger<TransactionSender>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _key = key;
        _chainId = chainId;
        _nonces = nonces ?? throw new ArgumentNullException(nameof(nonces));
        _fees = fees ?? throw new ArgumentNullException(nameof(fees));
        _options = options ?? new TransactionOptions();
        _logger = logger ?? NullLogger<TransactionSender>.Instance;
        _time = time ?? TimeProvider.System;
        From = key.Address;
    }

    /// <summary>The sending account.</summary>
    public Address From { get; }

    /// <summary>The node.</summary>
    public IEthereumClient Client => _client;

    /// <summary>Whether an RPC error says the node already holds this transaction.</summary>
    /// <param name="error">The error.</param>
    /// <returns>True for "already known" and its variants.</returns>
    public static bool IsAlreadyKnown(JsonRpcException error) =>
        error is not null && (error.RpcMessage.Contains("already known", StringComparison.OrdinalIgnoreCase)
            || error.RpcMessage.Contains("already imported", StringComparison.OrdinalIgnoreCase)
            || error.RpcMessage.Contains("known transaction", StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether an RPC error says the nonce is used or taken by a pending transaction.</summary>
    /// <param name="error">The error.</param>
    /// <returns>True for "nonce too low" and "replacement transaction underpriced".</returns>
    public static bool IsNonceConflict(JsonRpcException error) =>
        error is not null && (error.RpcMessage.Contains("nonce too low", StringComparison.OrdinalIgnoreCase)
            || error.RpcMessage.Contains("replacement transaction underpriced", StringComparison.OrdinalIgnoreCase));

    /// <summary>Signs and sends a transaction.</summary>
    /// <param name="request">What to send.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The accepted transaction.</returns>
    /// <exception cref="JsonRpcException">The node refused it; <see cref="JsonRpcException.IsRevert"/> when it would revert.</exception>
    public async Task<SentTransaction> SendAsync(TransactionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var gas = request.GasLimit
            ?? Scale(await _client.EstimateGasAsync(new CallRequest(From, request.To, request.Data, request.Value), cancellationToken).ConfigureAwait(false), _options.GasMultiplier);
        var fees = await _fees.EstimateAsync(cancellationToken).ConfigureAwait(false);

        for (var attempt = 0; ; attempt++)
        {
            using var nonce = await _nonces.ReserveAsync(From, cancellationToken).ConfigureAwait(false);
            var signed = Sign(request, gas, fees, nonce.Nonce);
            try
            {
                await _client.SendRawTransactionAsync(signed.Raw, cancellationToken).ConfigureAwait(false);
                nonce.Commit();
                return new SentTransaction(signed.Hash, nonce.Nonce, signed);
            }
            catch (JsonRpcException e) when (IsAlreadyKnown(e))
            {
                nonce.Commit();
                return new SentTransaction(signed.Hash, nonce.Nonce, signed);
            }
            catch (JsonRpcException e) when (IsNonceConflict(e))
            {
                if (await _client.IsTransactionKnownAsync(signed.Hash, cancellationToken).ConfigureAwait(false))
                {
                    nonce.Commit();
                    return new SentTransaction(signed.Hash, nonce.Nonce, signed);
                }

                nonce.Invalidate();
                LogNonceConflict(_logger, From, nonce.Nonce, e.RpcMessage);
                if (attempt >= _options.MaxNonceRetries)
                {
                    throw;
                }
            }
            catch (JsonRpcException)
            {
                // Refused outright (funds, gas, a revert): the nonce is still free.
                throw;
            }
            catch
            {
                // A connection failure or a cancellation mid-send: the node may or may not hold the
                // transaction, so the next reservation asks it rather than guess.
                nonce.Invalidate();
                throw;
            }
        }
    }

    /// <summary>Waits until a transaction has the given confirmations on the current chain.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="confirmations">Blocks that must include or follow its block; 1 means mined.</param>
    /// <param name="cancellationToken">Cancels the wait; pass a timeout.</param>
    /// <returns>The receipt.</returns>
    /// <exception cref="TransactionFailedException">It was mined but reverted.</exception>
    /// <exception cref="TransactionDroppedException">Another transaction took its nonce.</exception>
    public async Task<TransactionReceipt> WaitAsync(SentTransaction transaction, int confirmations = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var lastSeen = _time.GetTimestamp();
        while (true)
        {
            try
            {
                if (await _client.GetTransactionReceiptAsync(transaction.Hash, cancellationToken).ConfigureAwait(false) is { } receipt)
                {
                    lastSeen = _time.GetTimestamp();
                    if (await IsFinalAsync(receipt, confirmations, cancellationToken).ConfigureAwait(false))
                    {
                        return receipt.Succeeded ? receipt : throw new TransactionFailedException(receipt);
                    }
                }
                else if (_time.GetElapsedTime(lastSeen) >= _options.RebroadcastAfter)
                {
                    lastSeen = _time.GetTimestamp();
                    if (!await _client.IsTransactionKnownAsync(transaction.Hash, cancellationToken).ConfigureAwait(false))
                    {
                        await RebroadcastAsync(transaction, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.CircuitBreaker.BrokenCircuitException)
            {
                // The node is unreachable for longer than the RPC retries last; keep waiting.
                LogWaitFailed(_logger, transaction.Hash, e.Message);
            }

            await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a transaction and waits for its confirmations.</summary>
    /// <param name="request">What to send.</param>
    /// <param name="confirmations">Confirmations to wait for.</param>
    /// <param name="cancellationToken">Cancels the send and the wait.</param>
    /// <returns>The receipt.</returns>
    public async Task<TransactionReceipt> SendAndWaitAsync(TransactionRequest request, int confirmations = 1, CancellationToken cancellationToken = default)
    {
        var sent = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await WaitAsync(sent, confirmations, cancellationToken).ConfigureAwait(false);
    }

    private static BigInteger Scale(BigInteger gas, double factor) => gas * (BigInteger)Math.Round(factor * 1000) / 1000;

    private SignedTransaction Sign(TransactionRequest request, BigInteger gas, FeeEstimate fees, BigInteger nonce) => fees.IsLegacy
        ? new SignedTransaction(new LegacyTransaction(nonce, fees.MaxFeePerGas, gas, request.To, request.Value, request.Data, _chainId).Sign(_key))
        : new Eip1559Transaction(_chainId, nonce, fees.MaxPriorityFeePerGas!.Value, fees.MaxFeePerGas, gas, request.To, request.Value, request.Data).Sign(_key);

    private async Task<bool> IsFinalAsync(TransactionReceipt receipt, int confirmations, CancellationToken cancellationToken)
    {
        var head = await _client.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        if (head - receipt.BlockNumber + 1 < Math.Max(confirmations, 1))
        {
            return false;
        }

        // A reorganisation may have replaced the receipt's block since it was read.
        var block = await _client.GetBlockAsync(receipt.BlockNumber, cancellationToken).ConfigureAwait(false);
        return string.Equals(block?.Hash, receipt.BlockHash, StringComparison.OrdinalIgnoreCase);
    }

    private async Task RebroadcastAsync(SentTransaction transaction, CancellationToken cancellationToken)
    {
        LogRebroadcast(_logger, transaction.Hash, From, transaction.Nonce);
        try
        {
            await _client.SendRawTransactionAsync(transaction.Transaction.Raw, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonRpcException e) when (IsAlreadyKnown(e))
        {
        }
        catch (JsonRpcException e) when (IsNonceConflict(e))
        {
            // The nonce is used, yet not by this transaction (no receipt, unknown hash): it was replaced.
            if (await _client.GetTransactionReceiptAsync(transaction.Hash, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new TransactionDroppedException(transaction.Hash, transaction.Nonce);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "nonce {Nonce} of {From} is taken ({Reason}); signing again with a fresh nonce")]
    private static partial void LogNonceConflict(ILogger logger, Address from, System.Numerics.BigInteger nonce, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the node does not know transaction {Hash} of {From} (nonce {Nonce}); sending the identical bytes again")]
    private static partial void LogRebroadcast(ILogger logger, string hash, Address from, System.Numerics.BigInteger nonce);

    [LoggerMessage(Level = LogLevel.Information, Message = "waiting for the receipt of {Hash}: {Error}")]
    private static partial void LogWaitFailed(ILogger logger, string hash, string error);
}

/// <summary>A transaction was mined but reverted.</summary>
public sealed class TransactionFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TransactionFailedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public TransactionFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public TransactionFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="receipt">The receipt with status 0.</param>
    public TransactionFailedException(TransactionReceipt receipt)
        : base($"transaction {receipt?.TransactionHash} reverted in block {receipt?.BlockNumber}") => Receipt = receipt;

    /// <summary>The receipt.</summary>
    public TransactionReceipt? Receipt { get; }
}

/// <summary>Another transaction took this transaction's nonce, so it will never be mined.</summary>
public sealed class TransactionDroppedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TransactionDroppedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public TransactionDroppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public TransactionDroppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="hash">The transaction.</param>
    /// <param name="nonce">Its nonce.</param>
    public TransactionDroppedException(string hash, BigInteger nonce)
        : base($"transaction {hash} was replaced: another transaction used nonce {nonce}") => Hash = hash;

    /// <summary>The transaction.</summary>
    public string? Hash { get; }
}
