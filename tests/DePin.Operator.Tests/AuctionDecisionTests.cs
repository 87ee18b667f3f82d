using DePin.Api.V1Alpha1;
using DePin.Ethereum;
using DePin.Marketplace;
using DePin.Operator.Auction;

namespace DePin.Operator.Tests;

public sealed class AuctionDecisionTests
{
    private static readonly Address Auditor = Address.Parse("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    private static readonly Dictionary<string, ProviderStats> NoStats = [];

    private static Offer Offer(string id, long price, int replicas = 3, string region = "eu-central", string attributes = "tier=3", bool audited = false) =>
        new($"bid-{id}", id, null, $"https://{id}.example", region, EvmMarketplace.ParseAttributes(attributes), price, replicas, audited ? [Auditor] : []);

    [Fact]
    public void TheCheapestOffer_WinsEveryReplica()
    {
        var outcome = AuctionDecision.Decide([Offer("a", 30_000), Offer("b", 20_000), Offer("c", 25_000)], 3, 50_000, 6, new PlacementSpec(), BidStrategy.LowestPrice, NoStats);

        var choice = Assert.Single(outcome.Chosen);
        Assert.Equal(("b", 3), (choice.Offer.ProviderId, choice.Replicas));
        Assert.True(outcome.Complete);
        Assert.All(outcome.Rejected, r => Assert.Equal("NotNeeded", r.Reason));
    }

    [Fact]
    public void ARegionRuleOutTheCheapest_PicksTheNext_AndSaysWhy()
    {
        var outcome = AuctionDecision.Decide([Offer("a", 30_000), Offer("b", 20_000, region: "us-east"), Offer("c", 25_000)], 1, 50_000, 6, new PlacementSpec { Regions = ["eu-central", "eu-west"] }, BidStrategy.LowestPrice, NoStats);

        Assert.Equal("c", Assert.Single(outcome.Chosen).Offer.ProviderId);
        var rejected = outcome.Rejected.Single(r => r.Offer.ProviderId == "b");
        Assert.Equal("RegionNotAllowed", rejected.Reason);
        Assert.Equal("region us-east is not in placement.regions [eu-central, eu-west]", rejected.Message);
    }

    [Fact]
    public void MaxReplicasPerProvider_SpreadsTheReplicas()
    {
        var outcome = AuctionDecision.Decide([Offer("a", 30_000), Offer("b", 20_000), Offer("c", 25_000)], 3, 50_000, 6, new PlacementSpec { MaxReplicasPerProvider = 1 }, BidStrategy.LowestPrice, NoStats);

        Assert.Equal(["b", "c", "a"], outcome.Chosen.Select(c => c.Offer.ProviderId));
        Assert.All(outcome.Chosen, c => Assert.Equal(1, c.Replicas));
        Assert.True(outcome.Complete);
    }

    [Fact]
    public void TooFewAcceptableOffers_LeaveTheDecisionIncomplete()
    {
        var outcome = AuctionDecision.Decide([Offer("a", 60_000), Offer("b", 20_000)], 2, 50_000, 6, new PlacementSpec { MaxReplicasPerProvider = 1 }, BidStrategy.LowestPrice, NoStats);

        Assert.False(outcome.Complete);
        Assert.Equal(1, outcome.Placed);
        var rejected = Assert.Single(outcome.Rejected);
        Assert.Equal("PriceAboveMaximum", rejected.Reason);
        Assert.Equal("0.06 per hour is above bidding.maxPricePerHour 0.05", rejected.Message);
    }

    [Theory]
    [InlineData("ProviderExcluded", "provider a is in placement.excludeProviders")]
    [InlineData("GpuModelNotOffered", "none of placement.gpuModels [nvidia-h100]")]
    [InlineData("MissingAttribute", "wants tier=4; the provider has tier=3")]
    [InlineData("NotAudited", "none of placement.auditors")]
    [InlineData("ReputationTooLow", "measured reputation 0.5 is below placement.minReputation 0.9")]
    public void PlacementRules_RejectWithTheirReason(string reason, string message)
    {
        var placement = reason switch
        {
            "ProviderExcluded" => new PlacementSpec { ExcludeProviders = ["A"] },
            "GpuModelNotOffered" => new PlacementSpec { GpuModels = ["nvidia-h100"] },
            "MissingAttribute" => new PlacementSpec { RequiredAttributes = new Dictionary<string, string> { ["tier"] = "4" } },
            "NotAudited" => new PlacementSpec { Auditors = [Auditor.ToString()] },
            _ => new PlacementSpec { MinReputation = 0.9 },
        };
        var stats = new Dictionary<string, ProviderStats> { ["a"] = new(0.5, 20) };

        var outcome = AuctionDecision.Decide([Offer("a", 10_000, attributes: "tier=3,gpu=nvidia-a100|nvidia-l4")], 1, 50_000, 6, placement, BidStrategy.LowestPrice, stats);

        Assert.Empty(outcome.Chosen);
        var rejected = Assert.Single(outcome.Rejected);
        Assert.Equal(reason, rejected.Reason);
        Assert.Contains(message, rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AuditedAndGpuOffers_PassTheirRules()
    {
        var placement = new PlacementSpec { Auditors = [Auditor.ToString()], GpuModels = ["NVIDIA-L4"] };

        var outcome = AuctionDecision.Decide([Offer("a", 10_000, attributes: "gpu=nvidia-a100|nvidia-l4", audited: true)], 1, 50_000, 6, placement, BidStrategy.LowestPrice, NoStats);

        Assert.Single(outcome.Chosen);
    }

    [Fact]
    public void BestScore_WeighsReputationAndLatencyAgainstPrice()
    {
        var stats = new Dictionary<string, ProviderStats> { ["flaky"] = new(0.2, 400), ["solid"] = new(1.0, 20) };
        Offer[] offers = [Offer("flaky", 20_000), Offer("solid", 24_000)];

        var lowest = AuctionDecision.Decide(offers, 1, 50_000, 6, new PlacementSpec(), BidStrategy.LowestPrice, stats);
        var best = AuctionDecision.Decide(offers, 1, 50_000, 6, new PlacementSpec(), BidStrategy.BestScore, stats);

        Assert.Equal("flaky", lowest.Chosen[0].Offer.ProviderId);
        Assert.Equal("solid", best.Chosen[0].Offer.ProviderId);
        Assert.True(best.Chosen[0].Score > best.Rejected[0].Score);
    }
}
