using DePin.Api.V1Alpha1;
using DePin.LocalKube;
using k8s;
using k8s.Models;

namespace DePin.Operator.Tests;

/// <summary>
/// A replica at a provider that never serves is not paid for long: <c>sla.startupSeconds</c> bounds how long a
/// pod may go without being Ready, and how long its probe may fail while it starts.
/// </summary>
public sealed class StartupDeadlineTests
{
    private static readonly TestProvider[] Fleet = [new("provider-a", "eu-west", "0.02"), new("provider-b", "eu-central", "0.03")];

    [Fact]
    public async Task AWorkloadThatStartsButNeverListens_FailsOver_WithinStartupSecondsPlusPeriodTimesThresholdPlusOneSecond_OfItsStart()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.OneReplicaExample("mute");
        deployment.Spec.Template.Spec.Containers[0].Command = ["sleep", "3600"];
        deployment.Spec.Sla!.Probe = new SlaProbe { TcpSocket = new TcpSocketProbe { Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 2 };
        deployment.Spec.Sla.StartupSeconds = 3;
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);

        // It runs (and, with no readiness probe, is Ready), but nothing listens on 8080.
        V1Pod? running = null;
        await world.UntilAsync(async () => (running = (await PodsAsync(world, "mute")).FirstOrDefault(p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running?.StartedAt is not null)) is not null, "the pod running at provider-a");
        var started = running!.Status.ContainerStatuses[0].State.Running.StartedAt!.Value.ToUniversalTime();

        var failed = (await world.WaitAsync("mute", d => d.Status?.LastFailover is not null)).Status!.LastFailover!;
        Assert.Equal("provider-a", failed.Provider);
        var bound = TimeSpan.FromSeconds(3 + (1 * 2) + 1);
        var after = failed.Time!.Value.ToUniversalTime() - started;
        Assert.True(after <= bound, $"the failover was detected {after.TotalSeconds:0.000} s after the workload started; the bound is {bound.TotalSeconds} s\noperator log:\n{world.OperatorLog}");

        // Usually the probe fails once the start-up grace is over. On a busy machine the pod's Ready status may
        // reach the cluster more than sla.startupSeconds after the pod's creation: then the start-up deadline
        // fails the lease first, which is as right, and sooner.
        Assert.True(failed.Reason is "ProbeFailed" or "StartupDeadlineExceeded", $"the failover's reason is {failed.Reason}\noperator log:\n{world.OperatorLog}");
        if (failed.Reason == "ProbeFailed")
        {
            Assert.True(after >= TimeSpan.FromSeconds(3), $"the failover was detected {after.TotalSeconds:0.000} s after the workload started, within its start-up grace\noperator log:\n{world.OperatorLog}");
        }
        await world.UntilAsync(async () => (await PodsAsync(world, "mute", "fallback")).Count > 0, "a cloud pod");
    }

    [Fact]
    public async Task AProviderThatRefusesThePod_FailsItsLease_ByTheStartupDeadline_WithTheReasonInItsConditionsAndAnEvent()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.OneReplicaExample("stuck");

        // The provider has no program for this image and the container names none: it refuses the pod, which stays Pending.
        deployment.Spec.Template.Spec.Containers[0].Command = null;
        deployment.Spec.Template.Spec.Containers[0].Image = "registry.example/none:1";
        deployment.Spec.Sla!.Probe = new SlaProbe { TcpSocket = new TcpSocketProbe { Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 2 };
        // Long enough for the refusal to reach the pod's status first, on a busy machine too.
        deployment.Spec.Sla.StartupSeconds = 8;
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);

        V1Pod? pending = null;
        await world.UntilAsync(async () => (pending = (await PodsAsync(world, "stuck")).FirstOrDefault()) is not null, "the pod bound to provider-a's node");
        var created = pending!.Metadata.CreationTimestamp!.Value.ToUniversalTime();

        var failed = (await world.WaitAsync("stuck", d => d.Status?.LastFailover is not null)).Status!.LastFailover!;
        Assert.Equal("provider-a", failed.Provider);
        Assert.Equal("StartupDeadlineExceeded", failed.Reason);

        // The deadline, checked every period; creationTimestamp has whole seconds, so the pod may be up to a second younger.
        var bound = TimeSpan.FromSeconds(8 + 1 + 1 + 1);
        var after = failed.Time!.Value.ToUniversalTime() - created;
        Assert.True(after <= bound, $"the lease failed {after.TotalSeconds:0.000} s after the pod was created; the bound is {bound.TotalSeconds} s");
        await world.UntilAsync(async () => (await PodsAsync(world, "stuck", "fallback")).Count > 0, "a cloud pod");

        // The lease says why, and so does an Event.
        var lease = Assert.Single(await world.LeasesAsync(), l => l.Spec.Provider.Id == "provider-a");
        await world.UntilAsync(async () => (lease = (await world.LeasesAsync()).Single(l => l.Spec.Provider.Id == "provider-a")).Status?.Conditions?.Any(c => c.Type == "SLAHealthy" && c.Status == "False") == true, "the lease's SLAHealthy condition False");
        var condition = lease.Status!.Conditions!.Single(c => c.Type == "SLAHealthy");
        Assert.Equal("StartupDeadlineExceeded", condition.Reason);
        Assert.Contains("sla.startupSeconds", condition.Message, StringComparison.Ordinal);
        Assert.True(condition.Message.Contains("ProviderRefused", StringComparison.Ordinal), $"the condition does not give the provider's reason: {condition.Message}");
        await world.UntilAsync(async () => (await world.Kube.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.Reason == "ProviderUnhealthy" && e.Message.Contains("StartupDeadlineExceeded", StringComparison.Ordinal)), "a ProviderUnhealthy Event naming the deadline");
    }

    [Fact]
    public async Task AProviderThatHeartbeatsButFailsEveryPodCreation_FailsItsLease_ByTheStartupDeadline()
    {
        // provider-a is reached through a proxy that answers 500 to every pod creation and passes the rest.
        await using var world = await OperatorWorld.PrepareStaticAsync(new ServerOptions { CloudNodes = new() { Count = 2 } }, Fleet);
        await using var proxy = await AgentFaultProxy.StartAsync(new Uri($"http://127.0.0.1:{world.Fleet.Agents[0].Port}/"));
        var marketplace = KubernetesJson.Deserialize<DePinMarketplace>(KubernetesJson.Serialize(await world.Kube.CustomObjects.GetClusterCustomObjectAsync("depin.dev", "v1alpha1", "depinmarketplaces", "depin-static")));
        marketplace.Spec.Static!.Providers[0].Endpoint = proxy.Url.ToString();
        await world.Kube.CustomObjects.ReplaceClusterCustomObjectAsync(marketplace, "depin.dev", "v1alpha1", "depinmarketplaces", "depin-static");
        await world.StartOperatorAsync();

        var deployment = OperatorWorld.OneReplicaExample("refused");
        deployment.Spec.Sla!.Probe = new SlaProbe { TcpSocket = new TcpSocketProbe { Port = 8080 }, PeriodSeconds = 1, TimeoutSeconds = 1, FailureThreshold = 2 };
        deployment.Spec.Sla.StartupSeconds = 3;
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);
        V1Pod? pending = null;
        await world.UntilAsync(async () => (pending = (await PodsAsync(world, "refused")).FirstOrDefault()) is not null, "the pod bound to provider-a's node");
        var created = pending!.Metadata.CreationTimestamp!.Value.ToUniversalTime();

        var failed = (await world.WaitAsync("refused", d => d.Status?.LastFailover is not null)).Status!.LastFailover!;
        Assert.Equal("provider-a", failed.Provider);
        Assert.Equal("StartupDeadlineExceeded", failed.Reason);
        Assert.True(proxy.Refused > 0, "no pod creation reached the provider");
        var bound = TimeSpan.FromSeconds(3 + 1 + 1 + 1);
        var after = failed.Time!.Value.ToUniversalTime() - created;
        Assert.True(after <= bound, $"the lease failed {after.TotalSeconds:0.000} s after the pod was created; the bound is {bound.TotalSeconds} s");
        await world.UntilAsync(async () => (await PodsAsync(world, "refused", "fallback")).Count > 0, "a cloud pod");
    }

    [Fact]
    public async Task ATemplateReadinessProbeThatNeverPasses_KeepsThePodUnready_AndFailsTheLeaseByTheStartupDeadline()
    {
        await using var world = await OperatorWorld.StartStaticAsync(Fleet);
        var deployment = OperatorWorld.OneReplicaExample("unready");

        // The container runs but never listens: the provider's agent runs the template's readiness probe, which never passes.
        deployment.Spec.Template.Spec.Containers[0].Command = ["sleep", "3600"];
        deployment.Spec.Template.Spec.Containers[0].ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = 8080 }, PeriodSeconds = 1, FailureThreshold = 1 };
        deployment.Spec.Sla!.Probe = null;
        deployment.Spec.Sla.StartupSeconds = 8;
        deployment.Spec.Fallback.Reauction = false;
        await world.CreateAsync(deployment);

        // The mirrored status says what the agent sees: running, started, not ready.
        V1Pod? running = null;
        await world.UntilAsync(async () => (running = (await PodsAsync(world, "unready")).FirstOrDefault(p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running is not null)) is not null, "the pod running at provider-a");
        var status = running!.Status.ContainerStatuses[0];
        Assert.False(status.Ready, KubernetesJson.Serialize(running.Status));
        Assert.True(status.Started, KubernetesJson.Serialize(running.Status));
        Assert.Equal("False", running.Status.Conditions.Single(c => c.Type == "Ready").Status);

        var failed = (await world.WaitAsync("unready", d => d.Status?.LastFailover is not null)).Status!.LastFailover!;
        Assert.Equal("provider-a", failed.Provider);
        Assert.True(failed.Reason == "StartupDeadlineExceeded", $"the failover's reason is {failed.Reason}\noperator log:\n{world.OperatorLog}");
        await world.UntilAsync(async () => (await PodsAsync(world, "unready", "fallback")).Count > 0, "a cloud pod");
    }

    // The deployment's pods of one placement that are not being deleted.
    private static async Task<List<V1Pod>> PodsAsync(OperatorWorld world, string deployment, string placement = "provider") =>
        [.. (await world.Kube.CoreV1.ListNamespacedPodAsync("default", labelSelector: $"depin.dev/deployment={deployment},depin.dev/placement={placement}")).Items.Where(p => p.Metadata.DeletionTimestamp is null)];
}
