using System.Net;
using System.Net.Sockets;
using DePin.Ethereum.Rpc;
using DePin.Ethereum.Transactions;
using DePin.Testing;
using Microsoft.Extensions.Logging;

namespace DePin.Ethereum.Tests;

[Collection("anvil")]
public sealed class RpcTests(AnvilFixture anvil)
{
    [AnvilFact]
    public async Task Reads_AreRetriedThrough503s()
    {
        using var flaky = new FlakyHandler { FailRequestsOf = "eth_blockNumber", Times = 3 };
        using var chain = await Chain.ConnectAsync(anvil.Node.Endpoint, flaky);

        var height = await chain.Client.BlockNumberAsync();

        Assert.True(height >= 0);
        Assert.Equal(4, flaky.Calls("eth_blockNumber"));
    }

    [AnvilFact]
    public async Task MethodsThatChangeTheNode_AreNeverRetried()
    {
        using var flaky = new FlakyHandler { FailRequestsOf = "evm_increaseTime", Times = 1 };
        using var chain = await Chain.ConnectAsync(anvil.Node.Endpoint, flaky);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => chain.Rpc.RequestAsync("evm_increaseTime", ["0x1"]));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(1, flaky.Calls("evm_increaseTime"));
    }

    [AnvilFact]
    public async Task NodeErrors_AreTypedAndNotRetried()
    {
        using var flaky = new FlakyHandler();
        using var chain = await Chain.ConnectAsync(anvil.Node.Endpoint, flaky);

        var error = await Assert.ThrowsAsync<JsonRpcException>(() => chain.Rpc.RequestAsync("eth_getBalance", ["not an address", "latest"]));

        Assert.Equal("eth_getBalance", error.Method);
        Assert.NotEqual(0, error.Code);
        Assert.Equal(1, flaky.Calls("eth_getBalance"));
    }

    [AnvilFact]
    public async Task RefusedTransactions_KeepTheirNonceFree()
    {
        var key = Chain.NewKey(); // no ether: the node refuses its transactions
        var sender = anvil.Chain.Sender(key);
        var recipient = Chain.NewKey().Address;

        await Assert.ThrowsAsync<JsonRpcException>(() => sender.SendAsync(new TransactionRequest(recipient, [], Value: 1, GasLimit: 21_000)));
        await anvil.Chain.Rpc.RequestAsync("anvil_setBalance", [key.Address.ToString(), Hex.EncodeQuantity(System.Numerics.BigInteger.Pow(10, 18))]);
        var sent = await sender.SendAsync(new TransactionRequest(recipient, [], Value: 1, GasLimit: 21_000));

        Assert.Equal(0, sent.Nonce);
        Assert.True((await sender.WaitAsync(sent)).Succeeded);
    }

    [Fact]
    public async Task TheEndpointsPathAndQuery_NeverReachLogsOrMessages()
    {
        // Hosted RPC URLs carry an API key in the path or the query.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens: every call fails to connect
        var logs = new CapturingLogger();
        using var http = new HttpClient();
        var rpc = new JsonRpcClient(http, new Uri($"http://SECRET-USER:SECRET-PASSWORD@127.0.0.1:{port}/v3/SECRET-API-KEY?token=SECRET-TOKEN"), new JsonRpcOptions { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(1) }, logs);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => rpc.RequestAsync("eth_blockNumber", []));

        Assert.Equal($"http://127.0.0.1:{port}", rpc.Endpoint);
        Assert.DoesNotContain("SECRET", error.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(logs.Lines);
        Assert.All(logs.Lines, line => Assert.DoesNotContain("SECRET", line, StringComparison.Ordinal));
    }

    private sealed class CapturingLogger : ILogger<JsonRpcClient>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception) + " " + exception);
            }
        }
    }
}
