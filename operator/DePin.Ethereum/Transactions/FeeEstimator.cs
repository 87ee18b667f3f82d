using System.Numerics;
using DePin.Ethereum.Rpc;

namespace DePin.Ethereum.Transactions;

/// <summary>Fees for one transaction.</summary>
/// <param name="MaxFeePerGas">EIP-1559 fee cap, or the gas price on a legacy chain.</param>
/// <param name="MaxPriorityFeePerGas">EIP-1559 tip; null on a legacy chain.</param>
public sealed record FeeEstimate(BigInteger MaxFeePerGas, BigInteger? MaxPriorityFeePerGas)
{
    /// <summary>Whether the chain has no EIP-1559 base fee, so a legacy transaction is sent.</summary>
    public bool IsLegacy => MaxPriorityFeePerGas is null;
}

/// <summary>Settings of <see cref="FeeEstimator"/>.</summary>
public sealed record FeeOptions
{
    /// <summary>Blocks of history read. Default 10.</summary>
    public int BlockCount { get; init; } = 10;

    /// <summary>The tip percentile taken from each block. Default 50.</summary>
    public double RewardPercentile { get; init; } = 50;

    /// <summary>The fee cap is this many times the next block's base fee, plus the tip, so that a few full blocks in a row do not strand the transaction. Default 2.</summary>
    public int BaseFeeMultiplier { get; init; } = 2;

    /// <summary>The smallest tip offered. Default 0.001 gwei.</summary>
    public BigInteger MinPriorityFeePerGas { get; init; } = 1_000_000;

    /// <summary>A fee cap above this is refused rather than paid; null for no limit.</summary>
    public BigInteger? MaxFeePerGasLimit { get; init; }

    /// <summary>
    /// How long an estimate is reused before the history is read again. Fees move per block, and the cap
    /// already allows for the base fee doubling, so a short reuse saves one call per transaction. Default 2 seconds.
    /// </summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Estimates fees from <c>eth_feeHistory</c>: the next block's base fee and the median recent tip.</summary>
/// <param name="client">The node.</param>
/// <param name="options">Settings, or null for defaults.</param>
/// <param name="time">The clock, or null for the system clock.</param>
public sealed class FeeEstimator(IEthereumClient client, FeeOptions? options = null, TimeProvider? time = null)
{
    private readonly FeeOptions _options = options ?? new FeeOptions();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private (FeeEstimate Estimate, long At)? _cached;

    /// <summary>Estimates fees for a transaction sent now.</summary>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The fees.</returns>
    /// <exception cref="InvalidOperationException">The fee cap exceeds <see cref="FeeOptions.MaxFeePerGasLimit"/>.</exception>
    public async Task<FeeEstimate> EstimateAsync(CancellationToken cancellationToken = default)
    {
        if (_cached is { } cached && _time.GetElapsedTime(cached.At) < _options.MaxAge)
        {
            return cached.Estimate;
        }

        var history = await client.FeeHistoryAsync(_options.BlockCount, [_options.RewardPercentile], cancellationToken).ConfigureAwait(false);
        FeeEstimate estimate;
        if (history.BaseFeePerGas.Count == 0 || history.BaseFeePerGas.All(f => f.IsZero))
        {
            estimate = new FeeEstimate(await client.GasPriceAsync(cancellationToken).ConfigureAwait(false), null);
        }
        else
        {
            var nextBaseFee = history.BaseFeePerGas[^1];
            var tip = BigInteger.Max(Median(history.Rewards.Where(r => r.Count > 0).Select(r => r[0])), _options.MinPriorityFeePerGas);
            estimate = new FeeEstimate((nextBaseFee * _options.BaseFeeMultiplier) + tip, tip);
        }

        if (_options.MaxFeePerGasLimit is { } limit && estimate.MaxFeePerGas > limit)
        {
            throw new InvalidOperationException($"the fee cap {estimate.MaxFeePerGas} wei per gas exceeds the configured limit of {limit}");
        }

        _cached = (estimate, _time.GetTimestamp());
        return estimate;
    }

    private static BigInteger Median(IEnumerable<BigInteger> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? BigInteger.Zero : sorted[sorted.Count / 2];
    }
}
