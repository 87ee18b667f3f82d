using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using DePin.Testing;

// The Ethereum client against anvil with automine: local signing and ABI work per second, and
// transactions per second, each beside anvil's own rate for the same token transfers sent through
// eth_sendTransaction from one of its unlocked accounts (anvil signs, we only post JSON).
// Usage: EthereumBench [--transactions N] [--signatures N] [--abi N]
var transactions = Arg("--transactions", 300);
var signatures = Arg("--signatures", 2_000);
var abiRounds = Arg("--abi", 20_000);

if (AnvilNode.MissingReason is { } missing)
{
    Console.Error.WriteLine(missing);
    return 2;
}

await using var node = await AnvilNode.StartAsync();
using var http = new HttpClient();
var rpc = new JsonRpcClient(http, node.Endpoint);
var client = new EthereumClient(rpc);
var chainId = await client.ChainIdAsync();
var nonces = new NonceManager(client);
var fees = new FeeEstimator(client);
var ownerKey = PrivateKey.FromHex(node.PrivateKeys[0]);
var owner = new TransactionSender(client, ownerKey, chainId, nonces, fees, new TransactionOptions { PollInterval = TimeSpan.FromMilliseconds(5) });
var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
var unlocked = PrivateKey.FromHex(node.PrivateKeys[1]).Address;
var ours = PrivateKey.FromHex(node.PrivateKeys[2]);
await token.MintAsync(unlocked, BigInteger.Pow(10, 15));
await token.MintAsync(ours.Address, BigInteger.Pow(10, 15));
var transfer = token.Abi.Function("transfer");
var recipient = PrivateKey.FromHex(node.PrivateKeys[3]).Address;
byte[] TransferData(int i) => transfer.EncodeCall(recipient, (BigInteger)(i + 1));

// Reference: anvil's eth_sendTransaction from an unlocked account, one transfer at a time.
var clock = Stopwatch.StartNew();
for (var i = 0; i < transactions; i++)
{
    await rpc.RequestAsync("eth_sendTransaction", [new JsonObject { ["from"] = unlocked.ToString(), ["to"] = token.Address.ToString(), ["data"] = Hex.Encode(TransferData(i)) }]);
}

var anvilRate = transactions / clock.Elapsed.TotalSeconds;

// Ours, the full path: eth_estimateGas, eth_feeHistory, nonce, sign, eth_sendRawTransaction.
var sender = new TransactionSender(client, ours, chainId, nonces, fees, new TransactionOptions { PollInterval = TimeSpan.FromMilliseconds(5) });
var sent = new System.Collections.Concurrent.ConcurrentBag<SentTransaction>();
clock.Restart();
for (var i = 0; i < transactions; i++)
{
    sent.Add(await sender.SendAsync(new TransactionRequest(token.Address, TransferData(i))));
}

var fullRate = transactions / clock.Elapsed.TotalSeconds;

// Ours with a known gas limit: fees, nonce, sign, send.
clock.Restart();
for (var i = 0; i < transactions; i++)
{
    sent.Add(await sender.SendAsync(new TransactionRequest(token.Address, TransferData(i), GasLimit: 100_000)));
}

var presetRate = transactions / clock.Elapsed.TotalSeconds;

// Ours, 8 senders' worth of concurrency on one key (the nonce manager serialises only the send).
clock.Restart();
var next = -1;
await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
{
    for (var i = Interlocked.Increment(ref next); i < transactions; i = Interlocked.Increment(ref next))
    {
        sent.Add(await sender.SendAsync(new TransactionRequest(token.Address, TransferData(i), GasLimit: 100_000)));
    }
})));
var concurrentRate = transactions / clock.Elapsed.TotalSeconds;

// Every transfer landed exactly once: 3 rounds plus anvil's own.
foreach (var transaction in sent)
{
    await sender.WaitAsync(transaction);
}

var pendingOwn = await client.GetTransactionCountAsync(unlocked, pending: true);
while (await client.GetTransactionCountAsync(unlocked, pending: false) < pendingOwn)
{
    await Task.Delay(5);
}

var expected = 4 * Enumerable.Range(1, transactions).Sum(i => (long)i);
var received = await token.BalanceOfAsync(recipient);

// Local work: EIP-1559 signing and EIP-191 messages, and ABI encoding and decoding, each after a warm-up
// so that the JIT and BouncyCastle's precomputed tables are in place, as in a long-running process.
double Rate(int rounds, Action work)
{
    for (var i = 0; i < Math.Max(rounds / 10, 1); i++)
    {
        work();
    }

    var timer = Stopwatch.StartNew();
    for (var i = 0; i < rounds; i++)
    {
        work();
    }

    return rounds / timer.Elapsed.TotalSeconds;
}

var message = Encoding.UTF8.GetBytes("POST /v1/leases/7/pods 9f86d081884c7d65 1764000000 7");
var signRate = Rate(signatures, () => PersonalMessage.Sign(message, ours));
clock.Restart();
for (var i = 0; i < signatures; i++)
{
    await rpc.RequestAsync("eth_sign", [unlocked.ToString(), Hex.Encode(message)]);
}

var anvilSignRate = signatures / clock.Elapsed.TotalSeconds;
var unsigned = new Eip1559Transaction(chainId, 1, 1_000_000_000, 2_000_000_000, 100_000, token.Address, 0, TransferData(1));
var txSignRate = Rate(signatures, () => unsigned.Sign(ours));

var createOrder = DePinMarketContract.Compiled.Abi.Function("createOrder");
var getOrder = DePinMarketContract.Compiled.Abi.Function("getOrder");
object?[] orderArguments = [token.Address, new byte[32], 3u, (BigInteger)2_000_000, 1_764_000_600ul, (BigInteger)100_000_000, new object?[] { 500u, 512u, 1024u, (ushort)1, "nvidia-a100" }];
var orderOutput = DePin.Ethereum.Abi.AbiCodec.Encode([getOrder.Outputs[0].Type], [new object?[] { unlocked, token.Address, new byte[32], (BigInteger)3, (BigInteger)1_764_000_600, (BigInteger)2_000_000, (BigInteger)100_000_000, (BigInteger)1, new object?[] { (BigInteger)500, (BigInteger)512, (BigInteger)1024, (BigInteger)1, "nvidia-a100" } }]);
var encodeRate = Rate(abiRounds, () => createOrder.EncodeCall(orderArguments));
var decodeRate = Rate(abiRounds, () => getOrder.DecodeOutput(orderOutput));

string Ratio(double rate) => (rate / anvilRate).ToString("F2", CultureInfo.InvariantCulture) + "x";
Console.WriteLine($"Ethereum client benchmark: anvil with automine, {transactions} token transfers per round, {Environment.ProcessorCount} cores");
Console.WriteLine($"  reference: anvil eth_sendTransaction     {anvilRate,10:N0} tx/s       (anvil signs; one at a time)");
Console.WriteLine($"  send, full path                          {fullRate,10:N0} tx/s       {Ratio(fullRate)} of anvil   (estimate gas, fee history, sign, send)");
Console.WriteLine($"  send, gas limit given                    {presetRate,10:N0} tx/s       {Ratio(presetRate)} of anvil   (fee history, sign, send)");
Console.WriteLine($"  send, 8 concurrent on one key            {concurrentRate,10:N0} tx/s       {Ratio(concurrentRate)} of anvil");
Console.WriteLine($"  EIP-191 signatures                       {signRate,10:N0} /s         {Ratio(signRate)} of anvil's tx rate; anvil eth_sign {anvilSignRate:N0}/s ({signRate / anvilSignRate:F2}x)");
Console.WriteLine($"  EIP-1559 transaction signatures          {txSignRate,10:N0} /s         {Ratio(txSignRate)} of anvil's tx rate");
Console.WriteLine($"  ABI encode createOrder(...)              {encodeRate,10:N0} /s         {Ratio(encodeRate)} of anvil's tx rate");
Console.WriteLine($"  ABI decode getOrder() -> Order           {decodeRate,10:N0} /s         {Ratio(decodeRate)} of anvil's tx rate");
Console.WriteLine($"  transfers landed                         {(received == expected ? "all, once each" : $"MISMATCH: {received} of {expected}")}");
return received == expected ? 0 : 1;

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
