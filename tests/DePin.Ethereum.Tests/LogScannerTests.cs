using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;

using DePin.Testing;

namespace DePin.Ethereum.Tests;

[Collection("anvil")]
public sealed class LogScannerTests(AnvilFixture anvil)
{
    [AnvilFact]
    public async Task LogsInARemovedBlock_NeverBecomeFinal_AndTheirReplacementsDo()
    {
        var key = await anvil.Chain.FundedKeyAsync();
        var owner = anvil.Chain.Sender(key);
        var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
        var transfer = token.Abi.Event("Transfer");
        var scanner = new LogScanner(anvil.Chain.Client, new LogScannerOptions { Addresses = [token.Address], Topics = [[transfer.Topic.ToArray()]], Confirmations = 2 }, await anvil.Chain.Client.BlockNumberAsync() + 1);

        var snapshot = (await anvil.Chain.Rpc.RequestAsync("evm_snapshot", [])).GetString()!;
        await token.MintAsync(owner.From, 111);
        var first = await scanner.PollAsync();
        Assert.Empty(first.Final);
        Assert.Equal((BigInteger)111, Amount(transfer, Assert.Single(first.Tentative)));

        // A reorganisation: the block with the 111 mint is replaced by one with a 222 mint.
        await anvil.Chain.Rpc.RequestAsync("evm_revert", [snapshot]);
        await AfterRevert(token, key).MintAsync(owner.From, 222);
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);

        var second = await scanner.PollAsync();
        Assert.Equal((BigInteger)222, Amount(transfer, Assert.Single(second.Final)));
        Assert.Empty(second.Tentative);

        // Reported once only.
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);
        Assert.Empty((await scanner.PollAsync()).Final);
    }

    [AnvilFact]
    public async Task AReorganisationDeeperThanTheConfirmations_IsReportedNotIgnored()
    {
        var key = await anvil.Chain.FundedKeyAsync();
        var owner = anvil.Chain.Sender(key);
        var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
        var scanner = new LogScanner(anvil.Chain.Client, new LogScannerOptions { Addresses = [token.Address], Confirmations = 1 }, await anvil.Chain.Client.BlockNumberAsync() + 1);
        var snapshot = (await anvil.Chain.Rpc.RequestAsync("evm_snapshot", [])).GetString()!;
        await token.MintAsync(owner.From, 1);
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);
        Assert.Single((await scanner.PollAsync()).Final);

        await anvil.Chain.Rpc.RequestAsync("evm_revert", [snapshot]);
        await AfterRevert(token, key).MintAsync(owner.From, 2);
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);
        await anvil.Chain.Rpc.RequestAsync("evm_mine", []);

        await Assert.ThrowsAsync<ChainReorganizedException>(() => scanner.PollAsync());
    }

    [AnvilFact]
    public async Task LongHistories_AreReadInBoundedRanges_WithNothingMissed()
    {
        var owner = await anvil.Chain.FundedSenderAsync();
        var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
        var from = await anvil.Chain.Client.BlockNumberAsync() + 1;
        for (var i = 1; i <= 10; i++)
        {
            await token.MintAsync(owner.From, i);
        }

        var recorder = new RecordingRpc(anvil.Chain.Rpc);
        var scanner = new LogScanner(new EthereumClient(recorder), new LogScannerOptions { Addresses = [token.Address], MaxBlockRange = 3 }, from);

        var batch = await scanner.PollAsync();

        var transfer = token.Abi.Event("Transfer");
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (BigInteger)i), batch.Final.Select(l => Amount(transfer, l)));
        Assert.Equal(await anvil.Chain.Client.BlockNumberAsync() + 1, batch.NextBlock);
        var ranges = recorder.Requests.Where(r => r.Method == "eth_getLogs").Select(r => r.Parameters[0]!).ToList();
        Assert.True(ranges.Count >= 4);
        Assert.All(ranges, r => Assert.True(Hex.DecodeQuantity(r["toBlock"]!.GetValue<string>()) - Hex.DecodeQuantity(r["fromBlock"]!.GetValue<string>()) < 3));
    }

    // evm_revert drops the reverted transactions (a real reorganisation puts them back in the pool), so
    // the sender's cached nonce is one ahead of the chain: continue with a fresh nonce manager.
    private Erc20Contract AfterRevert(Erc20Contract token, PrivateKey key) =>
        token.As(new TransactionSender(anvil.Chain.Client, key, anvil.Chain.ChainId, new NonceManager(anvil.Chain.Client), anvil.Chain.Fees));

    private static BigInteger Amount(Abi.AbiEvent transfer, LogEntry log) => (BigInteger)transfer.Decode(log.Topics, log.Data)["value"]!;

    private sealed class RecordingRpc(IJsonRpcClient inner) : IJsonRpcClient
    {
        public List<(string Method, JsonArray Parameters)> Requests { get; } = [];

        public Task<JsonElement> RequestAsync(string method, JsonArray parameters, CancellationToken cancellationToken = default)
        {
            lock (Requests)
            {
                Requests.Add((method, (JsonArray)parameters.DeepClone()));
            }

            return inner.RequestAsync(method, parameters, cancellationToken);
        }
    }
}
