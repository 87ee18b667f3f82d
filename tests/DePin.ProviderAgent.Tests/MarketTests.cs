using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using DePin.Ethereum;
using DePin.Ethereum.Contracts;
using DePin.Marketplace;
using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>Three agents on anvil bid on one order; the cheapest wins and serves the tenant's pods.</summary>
public sealed class MarketTests
{
    private const long Unit = MarketChain.Unit;

    [AnvilFact]
    public async Task ThreeAgentsBid_TheCheapestWins_LosersReleaseCapacity_TheWinnerIsPaid()
    {
        await using var chain = await MarketChain.StartAsync();
        var (client, market, token, node) = (chain.Client, chain.Market, chain.Token, chain.Node);
        var tenantKey = chain.Key(1);
        var tenant = chain.Tenant;
        await token.MintAsync(tenant.From, 1_000 * Unit);

        await using var fleet = new AgentFleet(3);
        var (directories, agents) = (fleet.Directories, fleet.Agents);
        var arguments = new List<string[]>();
        var rates = new[] { "0.30", "0.10", "0.20" };
        for (var i = 0; i < 3; i++)
        {
            var port = AgentProcess.FreePort();
            arguments.Add(chain.AgentArguments(port, "--evm-region", $"region-{i}", "--evm-withdraw-interval", "1s",
                "--capacity-cpu", "4", "--capacity-memory", "8192", "--capacity-disk", "10240",
                "--pricing-cpu-core-hour", rates[i], "--pricing-memory-gib-hour", "0", "--pricing-storage-gib-hour", "0", "--pricing-minimum", "0.01"));
            agents.Add(await AgentProcess.StartAsync(directories[i].Data, port, node.PrivateKeys[2 + i][2..], arguments[i]));
            var key = chain.Key(2 + i);
            await Eventually.UntilAsync(async () => (await market.GetProviderAsync(key.Address)).Registered, TimeSpan.FromSeconds(30));
        }

        // The tenant posts an order for one replica of one core.
        await token.As(tenant).ApproveAsync(market.Address, 100 * Unit);
        var deadline = (ulong)(await client.GetBlockAsync(null))!.Timestamp + 600;
        var orderId = await market.As(tenant).CreateOrderAsync(new OrderRequest(token.Address, Keccak.Hash("web"), 1, 1 * Unit, deadline, 100 * Unit, new OrderResources(1000, 512, 1024, 0, "")));
        await Eventually.UntilAsync(async () => (await market.OrderBidsAsync(orderId)).Count == 3, TimeSpan.FromSeconds(30));
        var bids = new List<MarketBid>();
        foreach (var id in await market.OrderBidsAsync(orderId))
        {
            bids.Add(await market.GetBidAsync(id));
        }

        Assert.Equal([100_000, 200_000, 300_000], bids.Select(b => (long)b.PricePerHour).Order());
        foreach (var agent in agents)
        {
            // The agent counts its bid once the bid's receipt is in.
            await Eventually.UntilAsync(async () => (await Node(agent))["heldForBids"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
        }

        var cheapest = bids.MinBy(b => b.PricePerHour)!;
        var winner = agents[Enumerable.Range(0, 3).First(i => PrivateKey.FromHex(node.PrivateKeys[2 + i]).Address == cheapest.Provider)];
        var leaseId = Assert.Single(await market.As(tenant).AcceptAsync(orderId, [cheapest.Id]));

        // The losers release the capacity their bids held; the winner serves the lease.
        foreach (var agent in agents)
        {
            await Eventually.UntilAsync(async () =>
            {
                var info = await Node(agent);
                var leases = info["leases"]!.GetValue<int>();
                var cpu = info["used"]!["cpuMillis"]!.GetValue<long>();
                return info["heldForBids"]!.GetValue<int>() == 0 && (agent == winner ? leases == 1 && cpu == 1000 : leases == 0 && cpu == 0);
            }, TimeSpan.FromSeconds(30));
        }

        // The tenant runs a pod on the winner with signed requests.
        var lease = leaseId.ToString(CultureInfo.InvariantCulture);
        var pod = AgentProcess.WorkloadPod("web-0", cpu: "500m");
        using (var created = await Signed(winner, HttpMethod.Post, $"/v1/leases/{lease}/pods", pod, tenantKey, lease))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        var podPid = 0;
        await Eventually.UntilAsync(async () =>
        {
            using var response = await Signed(winner, HttpMethod.Get, $"/v1/leases/{lease}/pods/web-0", null, tenantKey, lease);
            var running = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            podPid = running["status"]?["phase"]?.GetValue<string>() == "Running" ? AgentProcess.Pid(running) : 0;
            return podPid > 0;
        }, TimeSpan.FromSeconds(30));
        using (var stranger = await Signed(winner, HttpMethod.Get, $"/v1/leases/{lease}/pods", null, PrivateKey.FromHex(node.PrivateKeys[6]), lease))
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, stranger.StatusCode);
        }

        // An hour later the winner has withdrawn its earnings on its own schedule.
        await client.Rpc.RequestAsync("evm_increaseTime", ["0xe10"]);
        await client.Rpc.RequestAsync("evm_mine", []);
        await Eventually.UntilAsync(async () => await token.BalanceOfAsync(cheapest.Provider) >= 100_000, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await token.BalanceOfAsync(bids.First(b => b.Id != cheapest.Id).Provider));

        // The tenant closes the lease while the winner is down: once back, it removes the pod and frees the capacity.
        var index = agents.IndexOf(winner);
        await winner.KillAsync();
        await winner.DisposeAsync();
        await market.As(tenant).CloseAsync(leaseId);
        Assert.True(AgentDirectory.ProcessExists(podPid), "pods outlive their agent");
        winner = agents[index] = await AgentProcess.StartAsync(directories[index].Data, winner.Port, winner.KeyHex, arguments[index]);
        await Eventually.UntilAsync(async () => (await Node(winner))["pods"]!.GetValue<int>() == 0 && (await Node(winner))["leases"]!.GetValue<int>() == 0, TimeSpan.FromSeconds(30));
        Assert.False(AgentDirectory.ProcessExists(podPid));
        Assert.Equal(0, (await Node(winner))["used"]!["cpuMillis"]!.GetValue<long>());
    }

    [AnvilFact]
    public async Task ABidNobodyAccepts_IsWithdrawnAfterTheGrace_AndItsCapacityFreed()
    {
        await using var chain = await MarketChain.StartAsync();
        var (client, market, token, tenant) = (chain.Client, chain.Market, chain.Token, chain.Tenant);
        await token.MintAsync(tenant.From, 100 * Unit);
        using var directory = new AgentDirectory();
        await using var agent = await chain.StartAgentAsync(directory, 2, "--evm-accept-grace", "30s", "--capacity-cpu", "4");
        await token.As(tenant).ApproveAsync(market.Address, 10 * Unit);
        var deadline = (ulong)(await client.GetBlockAsync(null))!.Timestamp + 60;
        var orderId = await market.As(tenant).CreateOrderAsync(new OrderRequest(token.Address, Keccak.Hash("idle"), 2, 1 * Unit, deadline, 10 * Unit, new OrderResources(1000, 256, 0, 0, "")));
        await Eventually.UntilAsync(async () => (await Node(agent))["heldForBids"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
        Assert.Single(await market.OrderBidsAsync(orderId));
        Assert.Equal(2000, (await Node(agent))["used"]!["cpuMillis"]!.GetValue<long>());

        // Past the deadline and the grace, on the chain's clock.
        await client.Rpc.RequestAsync("evm_increaseTime", ["0x78"]);
        await client.Rpc.RequestAsync("evm_mine", []);

        await Eventually.UntilAsync(async () => (await Node(agent))["heldForBids"]!.GetValue<int>() == 0, TimeSpan.FromSeconds(30));
        Assert.Equal(0, (await Node(agent))["used"]!["cpuMillis"]!.GetValue<long>());
        var bid = await market.GetBidAsync(Assert.Single(await market.OrderBidsAsync(orderId)));
        Assert.Equal(MarketBidState.Withdrawn, bid.State);
    }

    [AnvilFact]
    public async Task ASpreadOrder_TakesOneReplicaFromEachAgent_WhichHoldOnlyThat()
    {
        await using var chain = await MarketChain.StartAsync();
        var (client, market, token, tenant) = (chain.Client, chain.Market, chain.Token, chain.Tenant);
        await token.MintAsync(tenant.From, 100 * Unit);
        await using var fleet = new AgentFleet(2);
        var (directories, agents) = (fleet.Directories, fleet.Agents);
        for (var i = 0; i < 2; i++)
        {
            agents.Add(await chain.StartAgentAsync(directories[i], 2 + i, "--capacity-cpu", "4"));
        }

        await token.As(tenant).ApproveAsync(market.Address, 10 * Unit);
        var deadline = (ulong)(await client.GetBlockAsync(null))!.Timestamp + 600;
        var orderId = await market.As(tenant).CreateOrderAsync(new OrderRequest(token.Address, Keccak.Hash("spread"), 2, 1 * Unit, deadline, 10 * Unit, new OrderResources(1000, 256, 0, 0, "")));
        await Eventually.UntilAsync(async () => (await market.OrderBidsAsync(orderId)).Count == 2, TimeSpan.FromSeconds(30));
        var bids = await market.OrderBidsAsync(orderId);
        foreach (var agent in agents)
        {
            await Eventually.UntilAsync(async () => (await Node(agent))["heldForBids"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
            Assert.Equal(2000, (await Node(agent))["used"]!["cpuMillis"]!.GetValue<long>());
        }

        await market.As(tenant).AcceptAsync(orderId, bids, [1, 1]);

        foreach (var agent in agents)
        {
            await Eventually.UntilAsync(async () =>
            {
                var info = await Node(agent);
                return info["leases"]!.GetValue<int>() == 1 && info["heldForBids"]!.GetValue<int>() == 0 && info["used"]!["cpuMillis"]!.GetValue<long>() == 1000;
            }, TimeSpan.FromSeconds(30));
        }
    }

    private static async Task<JsonNode> Node(AgentProcess agent) => JsonNode.Parse(await agent.Http.GetStringAsync("v1/node"))!;

    private static async Task<HttpResponseMessage> Signed(AgentProcess agent, HttpMethod method, string path, JsonNode? body, PrivateKey key, string lease)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body.ToJsonString());
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add(TenantRequest.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(TenantRequest.SignerHeader, key.Address.ToString());
        request.Headers.Add(TenantRequest.SignatureHeader, TenantRequest.Sign(method.Method, path, bytes, timestamp, lease, key));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(bytes);
        }

        using var anonymous = new HttpClient { BaseAddress = agent.Http.BaseAddress };
        return await anonymous.SendAsync(request);
    }
}
