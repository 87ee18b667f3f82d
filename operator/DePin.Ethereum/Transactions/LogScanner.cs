using DePin.Ethereum.Rpc;

namespace DePin.Ethereum.Transactions;

/// <summary>Settings of <see cref="LogScanner"/>.</summary>
public sealed record LogScannerOptions
{
    /// <summary>Contracts whose logs are read; empty for all.</summary>
    public IReadOnlyList<Address> Addresses { get; init; } = [];

    /// <summary>Topic filter per position (null accepts any), as for <c>eth_getLogs</c>.</summary>
    public IReadOnlyList<IReadOnlyList<byte[]>?> Topics { get; init; } = [];

    /// <summary>
    /// Blocks that must include or follow a log's block before it is final. 0 treats every mined log
    /// as final (a chain without reorganisations, such as a local node). Default 0.
    /// </summary>
    public int Confirmations { get; init; }

    /// <summary>The most blocks asked for in one <c>eth_getLogs</c>, as providers limit the range. Default 2,000.</summary>
    public int MaxBlockRange { get; init; } = 2000;
}

/// <summary>What one poll found.</summary>
/// <param name="Final">Logs that now have their confirmations, in chain order, each reported once.</param>
/// <param name="Tentative">Logs in the most recent blocks, which a reorganisation may still remove; read again on every poll.</param>
/// <param name="NextBlock">The first block not yet final: where to resume after a restart.</param>
public sealed record LogBatch(IReadOnlyList<LogEntry> Final, IReadOnlyList<LogEntry> Tentative, long NextBlock);

/// <summary>
/// Follows the logs of a contract from a remembered block. Each poll reads from the first block not yet
/// final up to the head, in ranges of at most <see cref="LogScannerOptions.MaxBlockRange"/> blocks, so
/// the last <see cref="LogScannerOptions.Confirmations"/> blocks are read again every time: a log that a
/// reorganisation removed from them is never reported as final, and one that moved to another block is
/// found where it landed. The hash of the last final block is checked on the next poll; a reorganisation
/// deeper than the confirmations throws <see cref="ChainReorganizedException"/> instead of passing silently.
/// </summary>
public sealed class LogScanner
{
    private readonly IEthereumClient _client;
    private readonly LogScannerOptions _options;
    private string? _lastFinalHash;

    /// <summary>Creates the scanner.</summary>
    /// <param name="client">The node.</param>
    /// <param name="options">What to read.</param>
    /// <param name="fromBlock">The first block to read: 0, a contract's deployment block, or a saved <see cref="LogBatch.NextBlock"/>.</param>
    public LogScanner(IEthereumClient client, LogScannerOptions options, long fromBlock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(fromBlock);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Confirmations);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBlockRange, 1);
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options;
        NextBlock = fromBlock;
    }

    /// <summary>The first block not yet final.</summary>
    public long NextBlock { get; private set; }

    /// <summary>Reads what is new since the last poll.</summary>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The final and the tentative logs.</returns>
    /// <exception cref="ChainReorganizedException">The last final block is no longer on the chain.</exception>
    public async Task<LogBatch> PollAsync(CancellationToken cancellationToken = default)
    {
        var head = await _client.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        if (_lastFinalHash is { } expected && NextBlock > 0)
        {
            var block = await _client.GetBlockAsync(NextBlock - 1, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(block?.Hash, expected, StringComparison.OrdinalIgnoreCase))
            {
                throw new ChainReorganizedException(NextBlock - 1, _options.Confirmations);
            }
        }

        var lastFinal = head - _options.Confirmations;
        var logs = new List<LogEntry>();
        for (var from = NextBlock; from <= head; from += _options.MaxBlockRange)
        {
            var to = Math.Min(head, from + _options.MaxBlockRange - 1);
            var filter = new LogFilter(_options.Addresses, _options.Topics, from, to);
            logs.AddRange(await _client.GetLogsAsync(filter, cancellationToken).ConfigureAwait(false));
        }

        logs.RemoveAll(l => l.Removed);
        var final = logs.Where(l => l.BlockNumber <= lastFinal).ToList();
        var tentative = logs.Where(l => l.BlockNumber > lastFinal).ToList();
        if (lastFinal >= NextBlock)
        {
            // Remember the last final block's hash, to notice if it is ever replaced.
            var block = await _client.GetBlockAsync(lastFinal, cancellationToken).ConfigureAwait(false);
            _lastFinalHash = block?.Hash;
            NextBlock = lastFinal + 1;
        }

        return new LogBatch(final, tentative, NextBlock);
    }
}

/// <summary>A reorganisation replaced a block that was already final; logs reported since may be wrong.</summary>
public sealed class ChainReorganizedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChainReorganizedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public ChainReorganizedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ChainReorganizedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="block">The replaced block.</param>
    /// <param name="confirmations">The confirmations that were deemed enough.</param>
    public ChainReorganizedException(long block, int confirmations)
        : base($"block {block} was final after {confirmations} confirmations but a reorganisation replaced it; raise the confirmations") => Block = block;

    /// <summary>The replaced block.</summary>
    public long Block { get; }
}
