using DePin.Runtime.Controllers;
using k8s.Models;

namespace DePin.Runtime.Tests.Controllers;

public sealed class ConditionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Set_NewType_AddsItWithGenerationAndTime()
    {
        var conditions = new List<V1Condition>();

        Assert.True(Conditions.Set(conditions, "Ready", "False", "Bidding", "collecting bids", 3, T0));

        var ready = Assert.Single(conditions);
        Assert.Equal(("False", "Bidding", 3L, T0.UtcDateTime), (ready.Status, ready.Reason, ready.ObservedGeneration!.Value, ready.LastTransitionTime));
    }

    [Fact]
    public void Set_SameStatusNewReason_KeepsTheTransitionTime()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", "False", "Bidding", "collecting bids", 1, T0);

        Assert.True(Conditions.Set(conditions, "Ready", "False", "Leasing", "opening leases", 2, T0.AddMinutes(1)));

        Assert.Equal(T0.UtcDateTime, conditions[0].LastTransitionTime);
        Assert.Equal(("Leasing", 2L), (conditions[0].Reason, conditions[0].ObservedGeneration!.Value));
    }

    [Fact]
    public void Set_StatusFlips_MovesTheTransitionTime()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", "False", "Bidding", "collecting bids", 1, T0);

        Conditions.Set(conditions, "Ready", "True", "Running", "all replicas run", 1, T0.AddMinutes(2));

        Assert.Equal(T0.AddMinutes(2).UtcDateTime, conditions[0].LastTransitionTime);
        Assert.True(Conditions.Is(conditions, "Ready", "True"));
    }

    [Fact]
    public void Set_NothingDifferent_ReportsNoChange()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", "True", "Running", "all replicas run", 1, T0);

        Assert.False(Conditions.Set(conditions, "Ready", "True", "Running", "all replicas run", 1, T0.AddHours(1)));
    }

    [Fact]
    public void Set_InvalidStatus_Throws()
    {
        Assert.Throws<ArgumentException>(() => Conditions.Set([], "Ready", "Yes", "Running", "", 1, T0));
    }
}
