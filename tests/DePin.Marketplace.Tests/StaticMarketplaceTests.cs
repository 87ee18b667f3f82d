using System.Net;
using DePin.Testing;

namespace DePin.Marketplace.Tests;

/// <summary>The static marketplace against three agents in static mode.</summary>
public sealed class StaticMarketplaceTests
{
    [Fact]
    public async Task Quotes_Leases_AndCloses_AreRepeatableWithoutDuplicates()
    {
        await using var fleet = new AgentFleet(3);
        var (directories, agents) = (fleet.Directories, fleet.Agents);
        var rates = new[] { "0.30", "0.10", "0.20" };
        for (var i = 0; i < 3; i++)
        {
            agents.Add(await AgentProcess.StartAsync(directories[i].Data, extra: ["--capacity-cpu", "2", "--pricing-cpu-core-hour", rates[i], "--pricing-memory-gib-hour", "0", "--pricing-storage-gib-hour", "0"]));
        }

        using var http = new HttpClient();
        var providers = agents.Select((a, i) => new StaticProvider($"p{i}", a.Http.BaseAddress!, $"region-{i}", new Dictionary<string, string> { ["tier"] = "3" }, AgentProcess.Token)).ToList();
        var market = new StaticMarketplace(http, providers);
        var spec = new OrderSpec("deployment-uid-1/1", 3, 500_000, TimeSpan.FromSeconds(5), 0, new ReplicaResources(1000, 256, 0));

        var order = await market.PostOrderAsync(spec);
        Assert.Equal(order.OrderId, (await market.PostOrderAsync(spec)).OrderId);
        var offers = await market.OffersAsync(order.OrderId, []);

        Assert.Equal([100_000, 200_000, 300_000], offers.Select(o => (long)o.PricePerHour).Order());
        Assert.All(offers, o => Assert.Equal(2, o.Replicas));
        var cheapest = offers.OrderBy(o => o.PricePerHour).Take(2).ToList();
        var chosen = new List<Offer> { cheapest[0] with { Replicas = 2 }, cheapest[1] with { Replicas = 1 } };

        var leases = await market.AcceptAsync(order.OrderId, chosen);
        var again = await market.AcceptAsync(order.OrderId, chosen);

        Assert.Equal(leases.Select(l => l.LeaseId), again.Select(l => l.LeaseId));
        Assert.Equal(2, leases.Count);
        var winner = agents[int.Parse(cheapest[0].ProviderId[1..], System.Globalization.CultureInfo.InvariantCulture)];
        var leaseList = System.Text.Json.Nodes.JsonNode.Parse(await winner.Http.GetStringAsync("v1/leases"))!.AsArray();
        Assert.Equal(leases[0].LeaseId, Assert.Single(leaseList)!["id"]!.GetValue<string>());
        var read = await market.GetLeaseAsync(leases[0].LeaseId);
        Assert.Equal(100_000, (long)read!.PricePerHour);
        Assert.Equal(2, read.Replicas);
        Assert.Equal(order.OrderId, read.OrderId);

        // The winner has no room for a third replica now.
        var more = await market.OffersAsync((await market.PostOrderAsync(spec with { Key = "deployment-uid-2/1" })).OrderId, []);
        Assert.DoesNotContain(more, o => o.ProviderId == cheapest[0].ProviderId);

        await market.CloseLeaseAsync(leases[0].LeaseId);
        await market.CloseLeaseAsync(leases[0].LeaseId);
        Assert.Null(await market.GetLeaseAsync(leases[0].LeaseId));
        await winner.SendAsync(HttpMethod.Delete, $"v1/leases/{leases[0].LeaseId}", expect: HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnUnreachableProvider_MakesNoOffer_AndTheOthersStillDo()
    {
        using var directory = new AgentDirectory();
        await using var agent = await AgentProcess.StartAsync(directory.Data);
        using var http = new HttpClient();
        var market = new StaticMarketplace(http,
        [
            new StaticProvider("up", agent.Http.BaseAddress!, "r", new Dictionary<string, string>(), AgentProcess.Token),
            new StaticProvider("down", new Uri($"http://127.0.0.1:{AgentProcess.FreePort()}/"), "r", new Dictionary<string, string>(), AgentProcess.Token),
            new StaticProvider("wrong-token", agent.Http.BaseAddress!, "r", new Dictionary<string, string>(), "not-the-token-at-all"),
        ]);
        var order = await market.PostOrderAsync(new OrderSpec("k", 1, 10_000_000, TimeSpan.Zero, 0, new ReplicaResources(100, 64, 0)));

        var offers = await market.OffersAsync(order.OrderId, []);

        Assert.Equal("up", Assert.Single(offers).ProviderId);
        Assert.DoesNotContain("not-the-token", new StaticProvider("x", new Uri("http://x/"), "r", new Dictionary<string, string>(), "not-the-token-at-all").ToString(), StringComparison.Ordinal);
    }
}
