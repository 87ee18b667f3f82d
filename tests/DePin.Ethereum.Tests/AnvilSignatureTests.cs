using System.Numerics;
using System.Text;
using DePin.Ethereum.Transactions;

using DePin.Testing;

namespace DePin.Ethereum.Tests;

/// <summary>Our signatures against those anvil makes with its own unlocked accounts, in the same run.</summary>
[Collection("anvil")]
public sealed class AnvilSignatureTests(AnvilFixture anvil)
{
    [AnvilFact]
    public async Task PersonalMessages_SignLikeAnvilsEthSign()
    {
        foreach (var keyHex in anvil.Node.PrivateKeys.Take(3))
        {
            var key = PrivateKey.FromHex(keyHex);
            foreach (var message in new[] { "hello", "", "POST /v1/leases/7/pods sha256:9f86d0 1764000000 lease=7", new string('x', 1000) })
            {
                var bytes = Encoding.UTF8.GetBytes(message);
                var theirs = (await anvil.Chain.Rpc.RequestAsync("eth_sign", [key.Address.ToString(), Hex.Encode(bytes)])).GetString();

                var ours = PersonalMessage.Sign(bytes, key);

                Assert.Equal(theirs, Hex.Encode(ours));
                Assert.Equal(key.Address, PersonalMessage.RecoverSigner(bytes, ours));
            }
        }
    }

    [AnvilFact]
    public async Task Eip1559Transactions_SignLikeAnvilsEthSignTransaction()
    {
        var key = PrivateKey.FromHex(anvil.Node.PrivateKeys[1]);
        var to = PrivateKey.FromHex(anvil.Node.PrivateKeys[2]).Address;
        var cases = new[]
        {
            new Eip1559Transaction(anvil.Chain.ChainId, 0, 1_000_000_000, 2_000_000_000, 21_000, to, 1, []),
            new Eip1559Transaction(anvil.Chain.ChainId, 7, 3, 50_000_000_000, 100_000, to, BigInteger.Pow(10, 18), Encoding.ASCII.GetBytes("call data")),
            new Eip1559Transaction(anvil.Chain.ChainId, 300, 0, 1, 3_000_000, null, 0, [0x60, 0x00, 0x60, 0x00, 0xf3]),
        };

        foreach (var transaction in cases)
        {
            var request = new System.Text.Json.Nodes.JsonObject
            {
                ["from"] = key.Address.ToString(),
                ["nonce"] = Hex.EncodeQuantity(transaction.Nonce),
                ["maxPriorityFeePerGas"] = Hex.EncodeQuantity(transaction.MaxPriorityFeePerGas),
                ["maxFeePerGas"] = Hex.EncodeQuantity(transaction.MaxFeePerGas),
                ["gas"] = Hex.EncodeQuantity(transaction.GasLimit),
                ["value"] = Hex.EncodeQuantity(transaction.Value),
                ["data"] = Hex.Encode(transaction.Data),
                ["chainId"] = Hex.EncodeQuantity(transaction.ChainId),
            };
            if (transaction.To is { } recipient)
            {
                request["to"] = recipient.ToString();
            }

            var theirs = (await anvil.Chain.Rpc.RequestAsync("eth_signTransaction", [request])).GetString();

            Assert.Equal(theirs, Hex.Encode(transaction.Sign(key).Raw));
        }
    }

    [AnvilFact]
    public async Task SignedTransactions_AreAcceptedAndAttributedToTheirSender()
    {
        var sender = await anvil.Chain.FundedSenderAsync();
        var recipient = Chain.NewKey().Address;

        var receipt = await sender.SendAndWaitAsync(new TransactionRequest(recipient, [], Value: 12345));

        Assert.True(receipt.Succeeded);
        Assert.Equal(12345, await anvil.Chain.Client.GetBalanceAsync(recipient));
        var transaction = await anvil.Chain.Rpc.RequestAsync("eth_getTransactionByHash", [receipt.TransactionHash]);
        Assert.Equal(sender.From.ToString().ToLowerInvariant(), transaction.GetProperty("from").GetString());
        Assert.Equal("0x2", transaction.GetProperty("type").GetString());
    }
}
