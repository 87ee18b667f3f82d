using System.Numerics;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Transactions;
using DePin.Testing;

namespace DePin.Ethereum.Tests;

/// <summary>Nonces, resends and node restarts, on anvil.</summary>
[Collection("anvil")]
public sealed class TransactionTests(AnvilFixture anvil)
{
    [AnvilFact]
    public async Task FiftyConcurrentTransactions_FromOneKey_LandWithConsecutiveNonces()
    {
        var sender = await anvil.Chain.FundedSenderAsync();
        var start = await anvil.Chain.Client.GetTransactionCountAsync(sender.From, pending: true);
        var recipients = Enumerable.Range(0, 50).Select(_ => Chain.NewKey().Address).ToList();

        var receipts = await Task.WhenAll(recipients.Select((to, i) => sender.SendAndWaitAsync(new TransactionRequest(to, [], Value: 1000 + i))));

        Assert.All(receipts, r => Assert.True(r.Succeeded));
        var nonces = new List<BigInteger>();
        foreach (var receipt in receipts)
        {
            var transaction = await anvil.Chain.Rpc.RequestAsync("eth_getTransactionByHash", [receipt.TransactionHash]);
            nonces.Add(Hex.DecodeQuantity(transaction.GetProperty("nonce").GetString()!));
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => start + i), nonces.Order());
        Assert.Equal(start + 50, await anvil.Chain.Client.GetTransactionCountAsync(sender.From, pending: true));
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(1000 + i, await anvil.Chain.Client.GetBalanceAsync(recipients[i]));
        }
    }

    [AnvilFact]
    public async Task NonceTakenElsewhere_IsDetectedAndSignedAgain()
    {
        var key = await anvil.Chain.FundedKeyAsync();
        var sender = anvil.Chain.Sender(key);
        await sender.SendAndWaitAsync(new TransactionRequest(Chain.NewKey().Address, [], Value: 1));

        // Another process with the same key uses the next nonce behind this one's back.
        var other = new TransactionSender(anvil.Chain.Client, key, anvil.Chain.ChainId, new NonceManager(anvil.Chain.Client), anvil.Chain.Fees);
        await other.SendAndWaitAsync(new TransactionRequest(Chain.NewKey().Address, [], Value: 1));

        var recipient = Chain.NewKey().Address;
        var receipt = await sender.SendAndWaitAsync(new TransactionRequest(recipient, [], Value: 7));

        Assert.True(receipt.Succeeded);
        Assert.Equal(7, await anvil.Chain.Client.GetBalanceAsync(recipient));
        Assert.Equal(3, await anvil.Chain.Client.GetTransactionCountAsync(sender.From, pending: false));
    }

    [AnvilFact]
    public async Task LostResponse_ResendsTheIdenticalBytes_AndCountsOnce()
    {
        // The node receives and mines the transaction, but its answer never arrives.
        using var flaky = new FlakyHandler { DropResponseOf = "eth_sendRawTransaction", Times = 1 };
        using var chain = await Chain.ConnectAsync(anvil.Node.Endpoint, flaky);
        var sender = chain.Sender(await anvil.Chain.FundedKeyAsync());
        var recipient = Chain.NewKey().Address;

        var receipt = await sender.SendAndWaitAsync(new TransactionRequest(recipient, [], Value: 5));

        Assert.True(receipt.Succeeded);
        Assert.Equal(2, flaky.Calls("eth_sendRawTransaction"));
        Assert.Equal(5, await chain.Client.GetBalanceAsync(recipient));
        Assert.Equal(1, await chain.Client.GetTransactionCountAsync(sender.From, pending: true));
    }

    [AnvilFact]
    public async Task NodeRestartMidRun_CausesRetries_ButNoDuplicateAndNoLoss()
    {
        var directory = Directory.CreateTempSubdirectory("anvil-state-");
        try
        {
            var state = Path.Combine(directory.FullName, "state.json");
            var node = await AnvilNode.StartAsync(state);
            using var traffic = new FlakyHandler();
            using var chain = await Chain.ConnectAsync(node.Endpoint, traffic, Chain.FastRetries with { MaxRetries = 40, MaxDelay = TimeSpan.FromMilliseconds(250) });
            var owner = chain.Sender(PrivateKey.FromHex(node.PrivateKeys[0]), new TransactionOptions { PollInterval = TimeSpan.FromMilliseconds(20), RebroadcastAfter = TimeSpan.FromSeconds(2) });
            var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
            var start = await chain.Client.GetTransactionCountAsync(owner.From, pending: true);
            var recipients = Enumerable.Range(0, 30).Select(_ => Chain.NewKey().Address).ToList();

            // Thirty mints in flight; the node is stopped and started again on the same port meanwhile.
            var mints = recipients.Select((to, i) => token.MintAsync(to, 100 + i)).ToList();
            await Eventually.UntilAsync(() => mints.Count(m => m.IsCompleted) >= 5, TimeSpan.FromSeconds(30));
            await node.StopAsync();
            var completedBeforeStop = mints.Count(m => m.IsCompleted);
            await node.DisposeAsync();
            node = await AnvilNode.StartAsync(state, node.Port);
            try
            {
                var receipts = await Task.WhenAll(mints).WaitAsync(TimeSpan.FromSeconds(90));

                Assert.All(receipts, r => Assert.True(r.Succeeded));
                Assert.True(completedBeforeStop < 30, "the restart happened mid-run");
                Assert.True(traffic.ConnectionFailures > 0, "calls failed while the node was down and were retried");
                Assert.Equal(start + 30, await chain.Client.GetTransactionCountAsync(owner.From, pending: true));
                BigInteger supply = 0;
                for (var i = 0; i < 30; i++)
                {
                    var balance = await token.BalanceOfAsync(recipients[i]);
                    Assert.Equal(100 + i, balance);
                    supply += balance;
                }

                Assert.Equal(supply, (BigInteger)(await token.CallAsync("totalSupply"))[0]!);
            }
            finally
            {
                await node.DisposeAsync();
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
