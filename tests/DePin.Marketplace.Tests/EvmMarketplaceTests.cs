using System.Numerics;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DePin.Marketplace.Tests;

/// <summary>The EVM marketplace against the contract on anvil, with two agents bidding.</summary>
public sealed class EvmMarketplaceTests
{
    private const long Unit = MarketChain.Unit;

    [AnvilFact]
    public async Task AnOrderPostedAfterAnIdleSpell_GetsABidDeadlineAheadOfTheBlockThatTakesIt()
    {
        await using var chain = await MarketChain.StartAsync();
        await chain.Token.MintAsync(chain.Tenant.From, 100 * Unit);
        await chain.Token.As(chain.Tenant).ApproveAsync(chain.Market.Address, 100 * Unit);

        // An hour passes with no transaction: anvil mines only when it has one, so its latest block stays
        // an hour old while the next block, and the tenant's clock, are an hour on.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        await chain.Client.Rpc.RequestAsync("evm_increaseTime", [Hex.EncodeQuantity(3600)]);
        var market = new EvmMarketplace(chain.Market.As(chain.Tenant), chain.Token.As(chain.Tenant), time: clock);

        var order = await market.PostOrderAsync(new OrderSpec("idle/1", 1, 1 * Unit, TimeSpan.FromSeconds(30), 10 * Unit, new ReplicaResources(1000, 256, 0)));
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds() + 30, order.BidDeadline.ToUnixTimeSeconds());
        Assert.True(order.BidDeadline.ToUnixTimeSeconds() > (await chain.Client.GetBlockAsync(null))!.Timestamp);
    }

    [AnvilFact]
    public async Task Orders_Offers_Leases_TopUps_AndCloses_AreRepeatable_AndRefundOnChain()
    {
        await using var chain = await MarketChain.StartAsync();
        var (client, contract, token, http) = (chain.Client, chain.Market, chain.Token, chain.Http);
        var tenant = chain.Tenant;
        var auditor = chain.Sender(5);
        await token.MintAsync(tenant.From, 1_000 * Unit);
        var market = new EvmMarketplace(contract.As(tenant), token.As(tenant));

        await using var fleet = new AgentFleet(2);
        var (directories, agents) = (fleet.Directories, fleet.Agents);
        for (var i = 0; i < 2; i++)
        {
            agents.Add(await chain.StartAgentAsync(directories[i], 2 + i, "--evm-region", $"region-{i}", "--evm-attributes", "tier=3,ssd=true",
                "--capacity-cpu", "4", "--pricing-cpu-core-hour", i == 0 ? "0.2" : "0.1", "--pricing-memory-gib-hour", "0", "--pricing-storage-gib-hour", "0"));
        }

        // An auditor vouches for the first provider's attributes.
        var first = chain.Key(2).Address;
        await contract.As(auditor).AttestProviderAsync(first, Keccak.Hash("tier=3,ssd=true"));

        var spec = new OrderSpec("deployment-uid/1", 1, 1 * Unit, TimeSpan.FromMinutes(10), 50 * Unit, new ReplicaResources(1000, 256, 0));
        var order = await market.PostOrderAsync(spec);
        var again = await market.PostOrderAsync(spec);
        Assert.Equal(order.OrderId, again.OrderId);
        Assert.Equal(950 * Unit, await token.BalanceOfAsync(tenant.From));

        IReadOnlyList<Offer> offers = [];
        await Eventually.UntilAsync(async () => (offers = await market.OffersAsync(order.OrderId, [auditor.From])).Count == 2, TimeSpan.FromSeconds(30));
        var audited = offers.Single(o => o.ProviderAddress == first);
        Assert.Equal([auditor.From], audited.Auditors);
        Assert.Equal("true", audited.Attributes["ssd"]);
        Assert.Empty(offers.Single(o => o.ProviderAddress != first).Auditors);
        var cheapest = offers.MinBy(o => o.PricePerHour)!;
        Assert.Equal(100_000, (long)cheapest.PricePerHour);

        var leases = await market.AcceptAsync(order.OrderId, [cheapest]);
        var repeated = await market.AcceptAsync(order.OrderId, [cheapest]);
        var lease = Assert.Single(leases);
        Assert.Equal(lease.LeaseId, Assert.Single(repeated).LeaseId);
        Assert.Equal(cheapest.Endpoint, lease.Endpoint);
        Assert.Equal(50 * Unit, lease.Escrow!.Deposited);

        // The tenant runs a pod on the winner, every request signed with its key, once the winner has seen the lease.
        var winner = agents.Single(a => PrivateKey.FromHex(a.KeyHex).Address == cheapest.ProviderAddress);
        await Eventually.UntilAsync(async () => System.Text.Json.Nodes.JsonNode.Parse(await winner.Http.GetStringAsync("v1/node"))!["leases"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
        var pods = new AgentClient(http, new Uri(lease.Endpoint), AgentCredentials.Tenant(chain.Key(1)));
        await pods.CreatePodAsync(lease.LeaseId, AgentProcess.WorkloadPod("web-0", cpu: "500m"));
        await Eventually.UntilAsync(async () => (await pods.GetPodAsync(lease.LeaseId, "web-0"))?["status"]?["phase"]?.GetValue<string>() == "Running", TimeSpan.FromSeconds(30));
        var stranger = new AgentClient(http, new Uri(lease.Endpoint), AgentCredentials.Tenant(chain.Key(6)));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await Assert.ThrowsAsync<AgentRequestFailedException>(() => stranger.ListPodsAsync(lease.LeaseId))).Status);
        Assert.True(await pods.DeletePodAsync(lease.LeaseId, "web-0"));

        await market.TopUpAsync(lease.LeaseId, 10 * Unit);
        Assert.Equal(60 * Unit, (await market.GetLeaseAsync(lease.LeaseId))!.Escrow!.Deposited);

        await client.Rpc.RequestAsync("evm_increaseTime", ["0xe10"]);
        await client.Rpc.RequestAsync("evm_mine", []);
        await market.CloseLeaseAsync(lease.LeaseId);
        await market.CloseLeaseAsync(lease.LeaseId);
        var closed = (await market.GetLeaseAsync(lease.LeaseId))!;
        Assert.True(closed.Closed);

        // The refund is on the chain: everything but what the provider earned is back with the tenant.
        Assert.Equal(1_000 * Unit - closed.Escrow!.Accrued, await token.BalanceOfAsync(tenant.From));
        Assert.Null(await market.GetLeaseAsync("999"));
        await Assert.ThrowsAsync<MarketplaceException>(() => market.GetLeaseAsync("not-a-number"));
    }

    [AnvilFact]
    public async Task AnUnmatchedOrder_IsCancelled_AndItsDepositReturned()
    {
        await using var chain = await MarketChain.StartAsync();
        var (contract, token, tenant) = (chain.Market, chain.Token, chain.Tenant);
        await token.MintAsync(tenant.From, 100 * Unit);
        var market = new EvmMarketplace(contract.As(tenant), token.As(tenant));

        var order = await market.PostOrderAsync(new OrderSpec("lonely", 1, Unit, TimeSpan.FromMinutes(1), 40 * Unit, new ReplicaResources(100, 64, 0)));
        Assert.Equal(60 * Unit, await token.BalanceOfAsync(tenant.From));
        await market.CancelOrderAsync(order.OrderId);
        await market.CancelOrderAsync(order.OrderId);

        Assert.Equal(100 * Unit, await token.BalanceOfAsync(tenant.From));
        Assert.Equal(MarketOrderState.Cancelled, (await contract.GetOrderAsync(BigInteger.Parse(order.OrderId, System.Globalization.CultureInfo.InvariantCulture))).State);
    }
}
