using System.Numerics;
using DePin.Ethereum.Contracts;
using DePin.Ethereum.Transactions;

using DePin.Testing;

namespace DePin.Ethereum.Tests;

/// <summary>The DePinMarket contract through the typed wrapper, on anvil.</summary>
[Collection("anvil")]
public sealed class MarketTests(AnvilFixture anvil)
{
    private const long Unit = 1_000_000; // one TUSD: the stablecoin has 6 decimals

    private static readonly OrderResources Small = new(500, 512, 1024, 0, "");

    [AnvilFact]
    public async Task FullLifecycle_SettlesToTheLastUnit()
    {
        var market = await MarketAsync();
        var tenant = await TenantAsync(market, 1_000 * Unit);
        var providers = await ProvidersAsync(market, 3);
        var deposit = 100 * Unit;
        var topUp = 50 * Unit;

        await market.Token.As(tenant).ApproveAsync(market.Market.Address, deposit + topUp);
        var orderId = await market.Market.As(tenant).CreateOrderAsync(await OrderAsync(market, replicas: 2, maxPrice: 2 * Unit, deposit));
        var prices = new[] { 1_500_000, 1_200_000, 1_800_000 };
        var bids = new List<BigInteger>();
        for (var i = 0; i < 3; i++)
        {
            bids.Add(await market.Market.As(providers[i]).BidAsync(orderId, prices[i], 2));
        }

        Assert.Equal(bids, await market.Market.OrderBidsAsync(orderId));
        var cheapest = bids[1];
        var leaseId = Assert.Single(await market.Market.As(tenant).AcceptAsync(orderId, [cheapest]));

        Assert.Equal(MarketOrderState.Matched, (await market.Market.GetOrderAsync(orderId)).State);
        Assert.Equal(MarketBidState.Won, (await market.Market.GetBidAsync(cheapest)).State);
        Assert.Equal(MarketBidState.Lost, (await market.Market.GetBidAsync(bids[0])).State);
        Assert.Equal(MarketBidState.Lost, (await market.Market.GetBidAsync(bids[2])).State);
        var lease = await market.Market.GetLeaseAsync(leaseId);
        Assert.Equal(providers[1].From, lease.Provider);
        Assert.Equal(2 * 1_200_000, lease.RatePerHour);
        Assert.Equal(deposit, lease.Deposited);

        // An hour and a quarter later the provider withdraws what has accrued.
        await anvil.Chain.AdvanceAsync(4500);
        var winner = market.Market.As(providers[1]);
        var first = await winner.WithdrawAsync(leaseId);
        var withdrawnAt = await anvil.Chain.TimestampAsync();
        Assert.Equal(Accrued(lease, withdrawnAt), first);

        await market.Market.As(tenant).TopUpAsync(leaseId, topUp);
        Assert.Equal(deposit + topUp, (await market.Market.GetLeaseAsync(leaseId)).Deposited);
        var balance = await market.Market.LeaseBalanceAsync(leaseId);
        Assert.Equal(MarketLeaseState.Active, balance.State);

        await anvil.Chain.AdvanceAsync(1800);
        await market.Market.As(tenant).CloseAsync(leaseId);
        var closed = await market.Market.GetLeaseAsync(leaseId);
        Assert.True(closed.Closed);
        var earned = Accrued(lease, (long)closed.ClosedAt);
        var second = await winner.WithdrawAsync(leaseId);
        Assert.Equal(earned, first + second);
        Assert.Equal(MarketLeaseState.Closed, (await market.Market.LeaseBalanceAsync(leaseId)).State);

        // Everything minted is accounted for: the tenant's refund, the winner's earnings, nothing left behind.
        var tenantBalance = await market.Token.BalanceOfAsync(tenant.From);
        var winnerBalance = await market.Token.BalanceOfAsync(providers[1].From);
        var contractBalance = await market.Token.BalanceOfAsync(market.Market.Address);
        Assert.Equal(1_000 * Unit - earned, tenantBalance);
        Assert.Equal(earned, winnerBalance);
        Assert.Equal(0, await market.Token.BalanceOfAsync(providers[0].From));
        Assert.Equal(0, await market.Token.BalanceOfAsync(providers[2].From));
        Assert.Equal(0, contractBalance);
        Assert.Equal(1_000 * Unit, tenantBalance + winnerBalance + contractBalance);
    }

    [AnvilFact]
    public async Task SpreadAcrossProviders_SharesTheDepositExactly()
    {
        var market = await MarketAsync();
        var tenant = await TenantAsync(market, 1_000 * Unit);
        var providers = await ProvidersAsync(market, 3);
        var deposit = 100 * Unit + 1; // not divisible: the shares must still add up

        await market.Token.As(tenant).ApproveAsync(market.Market.Address, deposit);
        var orderId = await market.Market.As(tenant).CreateOrderAsync(await OrderAsync(market, replicas: 3, maxPrice: 2 * Unit, deposit));
        var bids = new List<BigInteger>();
        foreach (var (provider, price) in providers.Zip(new[] { 1_000_001, 1_300_000, 1_700_000 }))
        {
            bids.Add(await market.Market.As(provider).BidAsync(orderId, price, 1));
        }

        var leases = await market.Market.As(tenant).AcceptAsync(orderId, bids);

        Assert.Equal(3, leases.Count);
        var deposits = new List<BigInteger>();
        foreach (var id in leases)
        {
            deposits.Add((await market.Market.GetLeaseAsync(id)).Deposited);
        }

        Assert.Equal(deposit, deposits.Aggregate(BigInteger.Add));
        Assert.Equal(leases, await market.Market.OrderLeasesAsync(orderId));

        // Providers close; the tenant claims its refunds; nothing stays in the contract once all withdraw.
        await anvil.Chain.AdvanceAsync(7200);
        for (var i = 0; i < 3; i++)
        {
            await market.Market.As(providers[i]).CloseAsync(leases[i]);
            await market.Market.As(providers[i]).WithdrawAsync(leases[i]);
        }

        var refund = await market.Market.RefundOfAsync(tenant.From, market.Token.Address);
        Assert.True(refund > 0);
        await market.Market.As(tenant).ClaimRefundAsync(market.Token.Address);
        Assert.Equal(0, await market.Token.BalanceOfAsync(market.Market.Address));
        var total = await market.Token.BalanceOfAsync(tenant.From);
        foreach (var provider in providers)
        {
            total += await market.Token.BalanceOfAsync(provider.From);
        }

        Assert.Equal(1_000 * Unit, total);
    }

    [AnvilFact]
    public async Task PartOfABid_CanBeAccepted_ToSpreadReplicas()
    {
        var market = await MarketAsync();
        var tenant = await TenantAsync(market, 1_000 * Unit);
        var providers = await ProvidersAsync(market, 2);
        await market.Token.As(tenant).ApproveAsync(market.Market.Address, 90 * Unit);
        var asTenant = market.Market.As(tenant);
        var orderId = await asTenant.CreateOrderAsync(await OrderAsync(market, replicas: 3, maxPrice: 2 * Unit, 90 * Unit));
        var a = await market.Market.As(providers[0]).BidAsync(orderId, 1 * Unit, 3);
        var b = await market.Market.As(providers[1]).BidAsync(orderId, 2 * Unit, 3);

        await AssertRevert("ReplicasOutOfRange", () => asTenant.AcceptAsync(orderId, [a, b], [4, 1]));
        await AssertRevert("ReplicaTotalMismatch", () => asTenant.AcceptAsync(orderId, [a, b], [1, 1]));
        await AssertRevert("LengthMismatch", () => asTenant.AcceptAsync(orderId, [a, b], [3]));
        var leases = await asTenant.AcceptAsync(orderId, [a, b], [2, 1]);

        var first = await market.Market.GetLeaseAsync(leases[0]);
        var second = await market.Market.GetLeaseAsync(leases[1]);
        Assert.Equal((2u, (BigInteger)(2 * Unit)), (first.Replicas, first.RatePerHour));
        Assert.Equal((1u, (BigInteger)(2 * Unit)), (second.Replicas, second.RatePerHour));
        Assert.Equal(90 * Unit, first.Deposited + second.Deposited);
        Assert.Equal(45 * Unit, first.Deposited);
    }

    [AnvilFact]
    public async Task Refusals_SurfaceAsTypedErrors()
    {
        var market = await MarketAsync();
        var tenant = await TenantAsync(market, 1_000 * Unit);
        var providers = await ProvidersAsync(market, 2);
        var stranger = await anvil.Chain.FundedSenderAsync();
        await market.Token.As(tenant).ApproveAsync(market.Market.Address, 1_000 * Unit);
        var asTenant = market.Market.As(tenant);
        var orderId = await asTenant.CreateOrderAsync(await OrderAsync(market, replicas: 1, maxPrice: 2 * Unit, 10 * Unit));

        await AssertRevert("PriceAboveMaximum", () => market.Market.As(providers[0]).BidAsync(orderId, 2 * Unit + 1, 1));
        await AssertRevert("ProviderNotRegistered", () => market.Market.As(stranger).BidAsync(orderId, Unit, 1));
        await AssertRevert("ReplicasOutOfRange", () => market.Market.As(providers[0]).BidAsync(orderId, Unit, 2));
        var bid = await market.Market.As(providers[0]).BidAsync(orderId, Unit, 1);
        await AssertRevert("DuplicateBid", () => market.Market.As(providers[0]).BidAsync(orderId, Unit, 1));
        await AssertRevert("NotTenant", () => market.Market.As(stranger).AcceptAsync(orderId, [bid]));

        var leaseId = Assert.Single(await asTenant.AcceptAsync(orderId, [bid]));
        await AssertRevert("OrderNotOpen", () => asTenant.AcceptAsync(orderId, [bid]));
        await AssertRevert("NotProvider", () => market.Market.As(stranger).WithdrawAsync(leaseId));
        await AssertRevert("NotLeaseParty", () => market.Market.As(stranger).CloseAsync(leaseId));
        await asTenant.CloseAsync(leaseId);
        await AssertRevert("LeaseNotActive", () => asTenant.CloseAsync(leaseId));
        await AssertRevert("LeaseNotActive", () => asTenant.TopUpAsync(leaseId, Unit));

        // A bid after the deadline.
        var late = await asTenant.CreateOrderAsync(await OrderAsync(market, replicas: 1, maxPrice: 2 * Unit, 10 * Unit));
        await anvil.Chain.AdvanceAsync(601);
        var error = await AssertRevert("BiddingClosed", () => market.Market.As(providers[1]).BidAsync(late, Unit, 1));
        Assert.Equal(late, error.Error!.Arguments[0]);

        // Bad input to createOrder.
        await AssertRevert("DeadlineInPast", () => asTenant.CreateOrderAsync(new OrderRequest(market.Token.Address, new byte[32], 1, Unit, 1, Unit, Small)));
        await AssertRevert("ZeroReplicas", async () => asTenant.CreateOrderAsync(await OrderAsync(market, replicas: 0, maxPrice: Unit, Unit)));
    }

    [AnvilFact]
    public async Task MinedRevert_IsDecodedByReplayingTheCall()
    {
        var market = await MarketAsync();
        var stranger = await anvil.Chain.FundedSenderAsync();

        // A fixed gas limit skips estimation, so the transaction is mined and fails on the chain.
        var unestimated = new DePinMarketContract(market.Market.Address, anvil.Chain.Client, stranger) { GasLimit = 200_000 };
        var error = await Assert.ThrowsAsync<ContractRevertException>(() => unestimated.BidAsync(1, Unit, 1));

        Assert.Equal("ProviderNotRegistered", error.ErrorName);
        Assert.IsType<TransactionFailedException>(error.InnerException);
    }

    [AnvilFact]
    public async Task EscrowRunningDry_MakesTheLeaseInsolvent()
    {
        var market = await MarketAsync();
        var tenant = await TenantAsync(market, 10 * Unit);
        var provider = (await ProvidersAsync(market, 1))[0];
        await market.Token.As(tenant).ApproveAsync(market.Market.Address, 10 * Unit);
        var orderId = await market.Market.As(tenant).CreateOrderAsync(await OrderAsync(market, 1, 2 * Unit, 3 * Unit));
        var bid = await market.Market.As(provider).BidAsync(orderId, 2 * Unit, 1);
        var leaseId = Assert.Single(await market.Market.As(tenant).AcceptAsync(orderId, [bid]));

        await anvil.Chain.AdvanceAsync(3 * 3600);

        var balance = await market.Market.LeaseBalanceAsync(leaseId);
        Assert.Equal(MarketLeaseState.Insolvent, balance.State);
        Assert.Equal(3 * Unit, balance.Accrued);
        Assert.Equal(0, balance.Remaining);
        await AssertRevert("LeaseNotActive", () => market.Market.As(tenant).TopUpAsync(leaseId, Unit));

        // The provider closes it and is paid the whole escrow; the tenant gets nothing back.
        await market.Market.As(provider).CloseAsync(leaseId);
        Assert.Equal(3 * Unit, await market.Market.As(provider).WithdrawAsync(leaseId));
        Assert.Equal(0, await market.Market.RefundOfAsync(tenant.From, market.Token.Address));
        Assert.Equal(0, await market.Token.BalanceOfAsync(market.Market.Address));
    }

    [AnvilFact]
    public async Task ReenteringToken_CannotDrainEscrow()
    {
        var owner = await anvil.Chain.FundedSenderAsync();
        var market = await DePinMarketContract.DeployAsync(owner);
        var token = await Chain.DeployArtifactAsync(owner, "test/ReentrantToken.json");
        var attacker = await Chain.DeployArtifactAsync(owner, "test/ReentrantProvider.json", market.Address, token.Address);
        var tenant = await anvil.Chain.FundedSenderAsync();
        var deposit = 100 * Unit;
        await token.SendAsync("mint", [tenant.From, deposit]);
        await new Contract(token.Artifact, token.Address, anvil.Chain.Client, tenant).SendAsync("approve", [market.Address, deposit]);
        await attacker.SendAsync("register", []);
        var asTenant = market.As(tenant);
        var orderId = await asTenant.CreateOrderAsync(new OrderRequest(token.Address, new byte[32], 1, 2 * Unit, (ulong)(await anvil.Chain.TimestampAsync() + 600), deposit, Small));
        await attacker.SendAsync("bid", [orderId, 2 * Unit, 1u]);
        var bidId = Assert.Single(await market.OrderBidsAsync(orderId));
        var leaseId = Assert.Single(await asTenant.AcceptAsync(orderId, [bidId]));
        await anvil.Chain.AdvanceAsync(3600);

        await attacker.SendAsync("withdraw", [leaseId]);

        var attempts = (BigInteger)(await attacker.CallAsync("reentryAttempts"))[0]!;
        var successes = (BigInteger)(await attacker.CallAsync("reentrySuccesses"))[0]!;
        var lease = await market.GetLeaseAsync(leaseId);
        var paid = (BigInteger)(await token.CallAsync("balanceOf", attacker.Address))[0]!;
        var held = (BigInteger)(await token.CallAsync("balanceOf", market.Address))[0]!;
        Assert.True(attempts >= 1, "the token called the attacker back");
        Assert.Equal(0, successes);
        Assert.False(lease.Closed);
        Assert.Equal(lease.Paid, paid);
        Assert.True(paid <= 2 * Unit + 2 * Unit / 3600 * 2, $"paid {paid}: no more than what accrued");
        Assert.Equal(deposit, paid + held);
    }

    [AnvilFact]
    public async Task FeeOnTransferTokens_AreRefused()
    {
        var owner = await anvil.Chain.FundedSenderAsync();
        var market = await DePinMarketContract.DeployAsync(owner);
        var token = await Chain.DeployArtifactAsync(owner, "test/FeeOnTransferToken.json");
        await token.SendAsync("mint", [owner.From, 100 * Unit]);
        await token.SendAsync("approve", [market.Address, 100 * Unit]);

        var error = await AssertRevert("FeeOnTransferToken", async () => market.CreateOrderAsync(new OrderRequest(token.Address, new byte[32], 1, Unit, (ulong)(await anvil.Chain.TimestampAsync() + 600), 100 * Unit, Small)));

        Assert.Equal((BigInteger)(99 * Unit), error.Error!.Arguments[2]);
    }

    [AnvilFact]
    public async Task ProviderRecords_AndAttestations_AreReadBack()
    {
        var market = await MarketAsync();
        var provider = (await ProvidersAsync(market, 1))[0];
        var auditor = await anvil.Chain.FundedSenderAsync();
        var record = await market.Market.GetProviderAsync(provider.From);
        Assert.Equal(new MarketProvider("https://provider-0.example:8443", "region-0", "tier=3", true, true), record);

        var hash = Keccak.Hash(record.Attributes);
        await market.Market.As(auditor).AttestProviderAsync(provider.From, hash);
        Assert.Equal(hash, await market.Market.AttestationAsync(provider.From, auditor.From));

        await market.Market.As(provider).SetProviderActiveAsync(false);
        Assert.False((await market.Market.GetProviderAsync(provider.From)).Active);
        await AssertRevert("ProviderAlreadyRegistered", () => market.Market.As(provider).RegisterProviderAsync("https://x", "r", ""));
        Assert.False((await market.Market.GetProviderAsync(Chain.NewKey().Address)).Registered);
    }

    private static BigInteger Accrued(MarketLease lease, long until) =>
        BigInteger.Min(lease.RatePerHour * (until - (long)lease.StartedAt) / 3600, lease.Deposited);

    private static async Task<ContractRevertException> AssertRevert(string errorName, Func<Task> action)
    {
        var error = await Assert.ThrowsAsync<ContractRevertException>(action);
        Assert.Equal(errorName, error.ErrorName);
        Assert.Contains(errorName, error.Message, StringComparison.Ordinal);
        return error;
    }

    private static Task<ContractRevertException> AssertRevert(string errorName, Func<Task<IReadOnlyList<BigInteger>>> action) =>
        AssertRevert(errorName, async () => { await action(); });

    private static Task<ContractRevertException> AssertRevert(string errorName, Func<Task<Task<BigInteger>>> action) =>
        AssertRevert(errorName, async () => await await action());

    private async Task<OrderRequest> OrderAsync(Deployed market, uint replicas, BigInteger maxPrice, BigInteger deposit) =>
        new(market.Token.Address, Keccak.Hash("spec"), replicas, maxPrice, (ulong)(await anvil.Chain.TimestampAsync() + 600), deposit, Small);

    private async Task<Deployed> MarketAsync()
    {
        var owner = await anvil.Chain.FundedSenderAsync();
        var token = await Erc20Contract.DeployTestStablecoinAsync(owner);
        var market = await DePinMarketContract.DeployAsync(owner);
        return new Deployed(owner, token, market);
    }

    private async Task<TransactionSender> TenantAsync(Deployed market, BigInteger tokens)
    {
        var tenant = await anvil.Chain.FundedSenderAsync();
        await market.Token.MintAsync(tenant.From, tokens);
        return tenant;
    }

    private async Task<List<TransactionSender>> ProvidersAsync(Deployed market, int count)
    {
        var result = new List<TransactionSender>();
        for (var i = 0; i < count; i++)
        {
            var provider = await anvil.Chain.FundedSenderAsync();
            await market.Market.As(provider).RegisterProviderAsync($"https://provider-{i}.example:8443", $"region-{i}", "tier=3");
            result.Add(provider);
        }

        return result;
    }

    private sealed record Deployed(TransactionSender Owner, Erc20Contract Token, DePinMarketContract Market);
}
