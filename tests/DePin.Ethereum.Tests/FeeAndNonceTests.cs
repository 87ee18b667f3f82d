using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using Microsoft.Extensions.Time.Testing;

namespace DePin.Ethereum.Tests;

public sealed class FeeAndNonceTests
{
    private const string History = """{"oldestBlock":"0x10","baseFeePerGas":["0xa","0x14","0x1e"],"reward":[["0x5"],["0x1"],["0x3"]]}""";

    [Fact]
    public async Task Fees_AreTwiceTheNextBaseFee_PlusTheMedianTip()
    {
        var rpc = new CannedRpc { ["eth_feeHistory"] = History };

        var fees = await new FeeEstimator(new EthereumClient(rpc), new FeeOptions { MinPriorityFeePerGas = 1 }).EstimateAsync();

        Assert.False(fees.IsLegacy);
        Assert.Equal((BigInteger)3, fees.MaxPriorityFeePerGas);
        Assert.Equal((BigInteger)((2 * 30) + 3), fees.MaxFeePerGas);
    }

    [Fact]
    public async Task TheTip_NeverFallsBelowTheMinimum()
    {
        var rpc = new CannedRpc { ["eth_feeHistory"] = History };

        var fees = await new FeeEstimator(new EthereumClient(rpc), new FeeOptions { MinPriorityFeePerGas = 1000 }).EstimateAsync();

        Assert.Equal((BigInteger)1000, fees.MaxPriorityFeePerGas);
    }

    [Fact]
    public async Task ChainsWithoutBaseFee_GetALegacyGasPrice()
    {
        var rpc = new CannedRpc { ["eth_feeHistory"] = """{"oldestBlock":"0x1","reward":[]}""", ["eth_gasPrice"] = "\"0x64\"" };

        var fees = await new FeeEstimator(new EthereumClient(rpc)).EstimateAsync();

        Assert.True(fees.IsLegacy);
        Assert.Equal((BigInteger)100, fees.MaxFeePerGas);
    }

    [Fact]
    public async Task AFeeCapAboveTheLimit_IsRefused()
    {
        var rpc = new CannedRpc { ["eth_feeHistory"] = History };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new FeeEstimator(new EthereumClient(rpc), new FeeOptions { MinPriorityFeePerGas = 1, MaxFeePerGasLimit = 50 }).EstimateAsync());

        Assert.Contains("exceeds the configured limit of 50", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Estimates_AreReusedForMaxAge()
    {
        var rpc = new CannedRpc { ["eth_feeHistory"] = History };
        var time = new FakeTimeProvider();
        var estimator = new FeeEstimator(new EthereumClient(rpc), new FeeOptions { MaxAge = TimeSpan.FromSeconds(2) }, time);

        await estimator.EstimateAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await estimator.EstimateAsync();
        Assert.Equal(1, rpc.Calls("eth_feeHistory"));

        time.Advance(TimeSpan.FromSeconds(2));
        await estimator.EstimateAsync();
        Assert.Equal(2, rpc.Calls("eth_feeHistory"));
    }

    [Fact]
    public async Task Nonces_FollowTheNodeThenCount_AndUncommittedOnesAreHandedOutAgain()
    {
        var rpc = new CannedRpc { ["eth_getTransactionCount"] = "\"0x5\"" };
        var nonces = new NonceManager(new EthereumClient(rpc));
        var sender = Chain.NewKey().Address;

        using (var first = await nonces.ReserveAsync(sender))
        {
            Assert.Equal(5, first.Nonce);
            first.Commit();
        }

        using (var refused = await nonces.ReserveAsync(sender))
        {
            Assert.Equal(6, refused.Nonce); // not committed: the node refused it
        }

        using (var again = await nonces.ReserveAsync(sender))
        {
            Assert.Equal(6, again.Nonce);
            again.Invalidate();
        }

        rpc["eth_getTransactionCount"] = "\"0x9\"";
        using var fresh = await nonces.ReserveAsync(sender);
        Assert.Equal(9, fresh.Nonce);
        Assert.Equal(2, rpc.Calls("eth_getTransactionCount"));
    }

    [Fact]
    public async Task AReservation_IsExclusiveUntilDisposed()
    {
        var rpc = new CannedRpc { ["eth_getTransactionCount"] = "\"0x0\"" };
        var nonces = new NonceManager(new EthereumClient(rpc));
        var sender = Chain.NewKey().Address;
        var first = await nonces.ReserveAsync(sender);

        var second = nonces.ReserveAsync(sender);
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        first.Commit();
        first.Dispose();
        using var next = await second;
        Assert.Equal(1, next.Nonce);
    }

    private sealed class CannedRpc : IJsonRpcClient
    {
        private readonly Dictionary<string, string> _answers = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

        public string this[string method]
        {
            set => _answers[method] = value;
        }

        public int Calls(string method) => _calls.GetValueOrDefault(method);

        public Task<JsonElement> RequestAsync(string method, JsonArray parameters, CancellationToken cancellationToken = default)
        {
            _calls[method] = Calls(method) + 1;
            return _answers.TryGetValue(method, out var json)
                ? Task.FromResult(JsonDocument.Parse(json).RootElement.Clone())
                : throw new JsonRpcException(method, -32601, "method not found", null);
        }
    }
}
