using System.Numerics;
using DePin.Api.V1Alpha1;
using DePin.Ethereum.Contracts;
using DePin.Testing;
using k8s;

namespace DePin.Operator.Tests;

/// <summary>DePinDeployments on the DePinMarket contract: anvil, provider agents bidding on chain, and the operator, each a process.</summary>
public sealed class EvmDeploymentTests
{
    private static readonly TestProvider[] Fleet =
    [
        new("a", "eu-west", "0.02"),
        new("b", "eu-central", "0.03"),
        new("c", "us-east", "0.04"),
    ];

    [AnvilFact]
    public async Task LeasesOpenOnChain_AndDeletingTheDeploymentClosesThem_RefundingTheUnspentEscrow()
    {
        await using var world = await OperatorWorld.StartEvmAsync(Fleet);
        var chain = world.Chain!;
        var tenant = chain.Key(1).Address;
        var before = await chain.Token.BalanceOfAsync(tenant);
        var deployment = OperatorWorld.WebServiceExample("web", "depin-evm");
        deployment.Spec.Replicas = 2;
        deployment.Spec.Bidding.BidWindowSeconds = 3;
        await world.CreateAsync(deployment);

        var running = await world.WaitAsync("web", d => d.Status?.Phase == DeploymentPhase.Running, TimeSpan.FromSeconds(90));
        var providers = new[] { chain.Key(2).Address.ToString(), chain.Key(3).Address.ToString() };
        Assert.Equal(providers, running.Status!.Decision!.Chosen!.Select(c => c.Provider));
        var leases = await world.LeasesAsync();
        Assert.Equal(2, leases.Count);
        foreach (var lease in leases)
        {
            var onChain = await chain.Market.GetLeaseAsync(BigInteger.Parse(lease.Spec.LeaseId, System.Globalization.CultureInfo.InvariantCulture));
            Assert.False(onChain.Closed);
            Assert.Equal(tenant, onChain.Tenant);
            Assert.Equal(lease.Spec.Provider.Address, onChain.Provider.ToString());
        }

        var order = await chain.Market.GetOrderAsync(BigInteger.Parse(running.Status.Order!.Id!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(order.State == MarketOrderState.Matched, $"order {order.Id} is {order.State}; status: {KubernetesJson.Serialize(running.Status)}\noperator log:\n{world.OperatorLog}");
        Assert.Equal(2, (await chain.Market.OrderLeasesAsync(order.Id)).Count);

        // The escrow of 24 hours at the ceiling went in; deleting gives back all but the few seconds used.
        await world.WaitAsync("web", d => d.Status?.Leases?.All(l => l.Spent is not null) == true);
        Assert.True(before - await chain.Token.BalanceOfAsync(tenant) >= 2 * 24 * 50_000 - 1);
        await world.DeleteAsync("web");
        await world.UntilAsync(async () => await world.GetAsync("web") is null, "deletion of the deployment", TimeSpan.FromSeconds(90));
        foreach (var lease in leases)
        {
            Assert.True((await chain.Market.GetLeaseAsync(BigInteger.Parse(lease.Spec.LeaseId, System.Globalization.CultureInfo.InvariantCulture))).Closed);
        }

        Assert.Equal(BigInteger.Zero, await chain.Market.RefundOfAsync(tenant, chain.Token.Address));
        var spent = before - await chain.Token.BalanceOfAsync(tenant);
        Assert.InRange(spent, BigInteger.One, new BigInteger(10_000)); // 0.03 per hour for well under 10 minutes
        foreach (var agent in world.Fleet.Agents)
        {
            await world.UntilAsync(async () => System.Text.Json.Nodes.JsonNode.Parse(await agent.Http.GetStringAsync("v1/node")) is { } node && (int)node["leases"]! == 0 && (int)node["pods"]! == 0, "the agent dropping its closed leases and their pods");
        }
    }

    [AnvilFact]
    public async Task TheOperatorKilledAtRandomMoments_NeverOpensASecondLeaseForAnOrder_NorLeavesOneOpen()
    {
        await using var world = await OperatorWorld.StartEvmAsync(Fleet);
        var chain = world.Chain!;
        var random = new Random(20261124);
        for (var cycle = 0; cycle < 10; cycle++)
        {
            var name = $"cycle-{cycle}";
            var deployment = OperatorWorld.WebServiceExample(name, "depin-evm");
            deployment.Spec.Replicas = 1;
            deployment.Spec.Bidding.BidWindowSeconds = 2;
            await world.CreateAsync(deployment);

            // Two kills per lifecycle: one while it comes up, one while it goes away, each at a random moment.
            await KillAfterAsync(world, random);
            await world.WaitAsync(name, d => d.Status?.Phase == DeploymentPhase.Running, TimeSpan.FromSeconds(90));
            await world.DeleteAsync(name);
            await KillAfterAsync(world, random);
            await world.UntilAsync(async () => await world.GetAsync(name) is null, $"deletion of {name}", TimeSpan.FromSeconds(90));
        }

        // On chain: every order of the tenant has at most its one lease, and every lease is closed.
        var tenant = chain.Key(1).Address;
        var orders = 0;
        for (var id = BigInteger.One; ; id++)
        {
            var order = await chain.Market.GetOrderAsync(id);
            if (order.State == MarketOrderState.None)
            {
                break;
            }

            Assert.Equal(tenant, order.Tenant);
            orders++;
            var leases = await chain.Market.OrderLeasesAsync(id);
            Assert.True(leases.Count <= 1, $"order {id} has {leases.Count} leases");
            foreach (var lease in leases)
            {
                Assert.True((await chain.Market.GetLeaseAsync(lease)).Closed, $"lease {lease} of order {id} is still open");
            }

            Assert.NotEqual(MarketOrderState.Open, order.State);
        }

        Assert.InRange(orders, 10, 30);
        Assert.Empty(await world.LeasesAsync());
        Assert.Empty((await world.Kube.CoreV1.ListNodeAsync(labelSelector: "type=virtual-kubelet")).Items);
    }

    [AnvilFact]
    public async Task EscrowIsToppedUpBeforeItRunsDry_NeverBeyondTheDailyBudget()
    {
        await using var world = await OperatorWorld.StartEvmAsync(Fleet[0]);
        var chain = world.Chain!;
        var deployment = OperatorWorld.OneReplicaExample("topped", "depin-evm");
        deployment.Spec.Bidding.LeaseHours = 4;
        deployment.Spec.Bidding.AutoTopUp = true;
        deployment.Spec.Bidding.Budget = new BudgetSpec { MaxSpendPerDay = "0.03" };
        await world.CreateAsync(deployment);
        await world.WaitAsync("topped", d => d.Status?.Phase == DeploymentPhase.Running, TimeSpan.FromSeconds(90));
        var leaseId = BigInteger.Parse(Assert.Single(await world.LeasesAsync()).Spec.LeaseId, System.Globalization.CultureInfo.InvariantCulture);

        // 0.05 per hour for 4 hours went in; the provider takes 0.0125 per hour, so 15.5 hours leave less than one.
        Assert.Equal(200_000, (long)(await chain.Market.GetLeaseAsync(leaseId)).Deposited);
        await chain.AdvanceAsync(15 * 3600 + 1800);
        await world.UntilAsync(async () => (await chain.Market.GetLeaseAsync(leaseId)).Deposited > 200_000, "a top-up", TimeSpan.FromSeconds(60));

        // Topping up to the 4-hour horizon would take 0.04375; the budget allows 0.03 in any 24 hours.
        Assert.Equal(230_000, (long)(await chain.Market.GetLeaseAsync(leaseId)).Deposited);
        var lease = Assert.Single(await world.LeasesAsync());
        Assert.Equal("0.03", Assert.Single(lease.Status!.Escrow!.TopUps!).Amount);

        // Low again, but the budget is spent: a Warning says so and nothing more is sent.
        await chain.AdvanceAsync(2 * 3600 + 1800);
        await world.UntilAsync(async () => (await world.Kube.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.Reason == "BudgetExhausted"), "the budget warning", TimeSpan.FromSeconds(60));
        Assert.Equal(230_000, (long)(await chain.Market.GetLeaseAsync(leaseId)).Deposited);
    }

    // Kills the operator with SIGKILL at a random moment within the next 3 s, and starts it again.
    private static async Task KillAfterAsync(OperatorWorld world, Random random)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 3000)));
        await world.RestartOperatorAsync();
    }
}
