using DePin.Operator.Deployments;
using DePin.Operator.Health;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>How a lease's monitor judges the pods a provider runs, by the operator's clock.</summary>
public sealed class PodVerdictsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(10);

    [Fact]
    public void APodThatWasReady_AndIsNotNow_FailsTheRound_WellBeforeTheDeadline()
    {
        var health = Measured(T0);
        Assert.Null(PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0.AddSeconds(1), null));

        // A short spell of Ready every startupSeconds would otherwise pass every round in between.
        var verdict = PodVerdicts.Judge([Pod(ready: false)], health, Startup, T0.AddSeconds(2), null);

        Assert.NotNull(verdict);
        Assert.Equal("PodNotReady", verdict.Reason);
        Assert.False(verdict.Deadline);
        Assert.Null(PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0.AddSeconds(3), null));
    }

    [Fact]
    public void APodNeverReady_FailsTheLeaseAtTheDeadline_FromItsCreation()
    {
        var health = Measured(T0);
        Assert.Null(PodVerdicts.Judge([Pod(ready: false, running: false)], health, Startup, T0.AddSeconds(9), null));

        var verdict = PodVerdicts.Judge([Pod(ready: false, running: false)], health, Startup, T0.AddSeconds(10), null);

        Assert.NotNull(verdict);
        Assert.Equal("StartupDeadlineExceeded", verdict.Reason);
        Assert.True(verdict.Deadline);
        Assert.Contains("past sla.startupSeconds (10)", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANewMonitor_ForgetsWhatAnEarlierOneSawOfThePods_AndCountsFromItsOwnStart()
    {
        // An earlier leader saw the pod Ready at T0; this process takes over much later.
        var health = Measured(T0);
        Assert.Null(PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0, null));
        health.Measuring(T0.AddSeconds(100));

        // When the pod was last Ready is not known to this process: it has its start-up time from now.
        Assert.Null(PodVerdicts.Judge([Pod(ready: false, running: false)], health, Startup, T0.AddSeconds(101), null));
        var verdict = PodVerdicts.Judge([Pod(ready: false, running: false)], health, Startup, T0.AddSeconds(110), null);
        Assert.Equal("StartupDeadlineExceeded", verdict?.Reason);
    }

    [Fact]
    public void AReadyPodWithoutAHostPortForTheProbedPort_FailsOnceItHasHadItsStartupTime()
    {
        var health = Measured(T0);
        Assert.Null(PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0.AddSeconds(9), 8080));

        var verdict = PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0.AddSeconds(10), 8080);

        Assert.Equal("ProbeFailed", verdict?.Reason);
        Assert.Contains("no host port for the probed port 8080", verdict!.Message, StringComparison.Ordinal);
        Assert.Null(PodVerdicts.Judge([Pod(ready: true, hostPorts: "8080=41000")], health, Startup, T0.AddSeconds(11), 8080));
        Assert.Null(PodVerdicts.Judge([Pod(ready: true)], health, Startup, T0.AddSeconds(11), null));
    }

    [Fact]
    public void AFailedPod_FailsTheRound()
    {
        var pod = Pod(ready: false);
        pod.Status.Phase = "Failed";

        Assert.Equal("PodsFailed", PodVerdicts.Judge([pod], Measured(T0), Startup, T0.AddSeconds(1), null)?.Reason);
    }

    private static LeaseHealth Measured(DateTimeOffset since)
    {
        var health = LeaseHealth.From(null);
        health.Measuring(since);
        return health;
    }

    // A pod created at T0 whose container started at T0 (when running).
    private static V1Pod Pod(bool ready, bool running = true, string? hostPorts = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "web-0",
            Uid = "uid-web-0",
            CreationTimestamp = T0.UtcDateTime,
            Annotations = hostPorts is null ? null : new Dictionary<string, string> { [Names.HostPortsAnnotation] = hostPorts },
        },
        Status = new V1PodStatus
        {
            Phase = running ? "Running" : "Pending",
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
            ContainerStatuses = running
                ? [new V1ContainerStatus { Name = "main", Ready = ready, State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = T0.UtcDateTime } } }]
                : [new V1ContainerStatus { Name = "main", State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ContainerCreating" } } }],
        },
    };
}
