using DePin.ProviderAgent.Runtime;
using DePin.ProviderAgent.State;
using k8s.Models;

namespace DePin.ProviderAgent.Pods;

/// <summary>
/// The containers' startup, liveness and readiness probes, run as the kubelet runs them: the startup
/// probe first, holding the others until it passes; a readiness result that flips after
/// successThreshold passes or failureThreshold failures in a row; and a container that fails its
/// liveness or startup probe failureThreshold times in a row is stopped and dealt with by the pod's
/// restart policy. Probes run outside the gate that pod changes take, so a slow probe holds up nothing;
/// a result for a container run that has since ended is dropped.
/// </summary>
internal sealed partial class PodManager
{
    /// <summary>One probe about to run, with what it needs copied out of the records (the launch for exec probes).</summary>
    private sealed record DueProbe(PodRecord Pod, ContainerRecord Container, long Instance, ProbeKind Kind, V1Probe Probe, V1Container Spec, ContainerHandle Handle, IReadOnlyDictionary<int, int> HostPorts, ContainerLaunch? Launch);

    /// <summary>A container run as its probe reaches it, through the runtime.</summary>
    private sealed class ProbeTarget(IPodRuntime runtime, DueProbe due) : IProbeTarget
    {
        public Task<System.Net.IPEndPoint?> EndpointAsync(int containerPort, int hostPort, CancellationToken cancellationToken) =>
            runtime.ProbeEndpointAsync(due.Handle, containerPort, hostPort, cancellationToken);

        public Task<ExecResult> ExecAsync(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken) =>
            runtime.ExecAsync(due.Handle, due.Launch ?? throw new InvalidOperationException("an exec probe without its container's launch"), command, timeout, cancellationToken);
    }

    private async Task ProbeLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var due in DueProbes(_time.GetUtcNow()))
                {
                    _ = RunProbeAsync(due, stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogProbeRoundFailed(_logger, e);
            }

            await Task.Delay(_options.StatusInterval, _time, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>The probes due now, each marked as running so that a probe never overlaps itself.</summary>
    private List<DueProbe> DueProbes(DateTimeOffset now)
    {
        var due = new List<DueProbe>();
        lock (_pods)
        {
            foreach (var pod in _pods.Values)
            {
                if (pod.Deleting || _busy.Contains(pod.Key))
                {
                    continue;
                }

                var specs = pod.ParsedPod.Spec.Containers;
                foreach (var container in pod.Containers)
                {
                    if (container.Phase != ContainerPhase.Running || (container.Pid == 0 && container.ContainerId is null)
                        || specs.FirstOrDefault(s => s.Name == container.Name) is not { } spec
                        || (spec.StartupProbe ?? spec.LivenessProbe ?? spec.ReadinessProbe) is null)
                    {
                        continue;
                    }

                    if (container.Probes is null || container.Probes.Instance != container.Instance)
                    {
                        container.Probes = new ProbeSchedule(container.Instance);
                    }

                    var startedAt = container.StartedAt ?? now;
                    ProbeKind[] kinds = Started(container, spec) ? [ProbeKind.Liveness, ProbeKind.Readiness] : [ProbeKind.Startup];
                    foreach (var kind in kinds)
                    {
                        if (ContainerProber.Of(spec, kind) is not { } probe)
                        {
                            continue;
                        }

                        var counter = container.Probes[kind];
                        if (counter.InFlight || now < (counter.NextAt ?? startedAt + ContainerProber.InitialDelay(probe)))
                        {
                            continue;
                        }

                        ContainerLaunch? launch = null;
                        try
                        {
                            launch = probe.Exec is null ? null : Launch(pod, container);
                        }
                        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException)
                        {
                            // The pod is being changed under the probe: the next round sees it settled.
                            continue;
                        }

                        counter.InFlight = true;
                        counter.NextAt = now + ContainerProber.Period(probe);
                        due.Add(new DueProbe(pod, container, container.Instance, kind, probe, spec, Handle(container), new Dictionary<int, int>(container.HostPorts), launch));
                    }
                }
            }
        }

        return due;
    }

    /// <summary>Runs one probe and applies its result; stops the container when it failed its liveness or startup probe for good.</summary>
    private async Task RunProbeAsync(DueProbe due, CancellationToken cancellationToken)
    {
        ProbeResult result;
        try
        {
            result = await _prober.RunAsync(due.Probe, due.Spec, due.HostPorts, new ProbeTarget(_runtime, due), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            // The runtime failed (docker unreachable, a command that cannot start): the probe counts as failed.
            LogProbeFailedToRun(_logger, e, ContainerProber.Name(due.Kind), due.Container.Name, due.Pod.Name, due.Pod.LeaseId);
            result = new ProbeResult(false, e.Message);
        }

        if (Apply(due, result) is not { } cause)
        {
            return;
        }

        try
        {
            await StopForProbeAsync(due, cause, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The container could not be stopped: the next failed probe tries again.
            LogProbeStopFailed(_logger, e, due.Container.Name, due.Pod.Name, due.Pod.LeaseId);
        }
    }

    /// <summary>Counts a result; returns why the container must be stopped, or null.</summary>
    private string? Apply(DueProbe due, ProbeResult result)
    {
        var container = due.Container;
        string? stop = null;
        bool? readyNow = null;
        lock (_pods)
        {
            if (container.Instance != due.Instance || container.Probes?.Instance != due.Instance || container.Phase != ContainerPhase.Running)
            {
                // The container ended or started again while the probe ran: the result is about a run that is gone.
                return null;
            }

            var counter = container.Probes[due.Kind];
            counter.InFlight = false;
            if (result.Success)
            {
                counter.Successes++;
                counter.Failures = 0;
            }
            else
            {
                counter.Failures++;
                counter.Successes = 0;
            }

            switch (due.Kind)
            {
                case ProbeKind.Startup when result.Success:
                    container.StartupProbePassed = true;
                    due.Pod.ProbeUnsaved = true;
                    break;
                case ProbeKind.Startup or ProbeKind.Liveness when counter.Failures >= ContainerProber.FailureThreshold(due.Probe):
                    var restart = (due.Pod.ParsedPod.Spec.RestartPolicy ?? "Always") != "Never";
                    stop = $"Container {container.Name} failed {ContainerProber.Name(due.Kind)} probe{(restart ? ", will be restarted" : "")}: {result.Message}";
                    break;
                case ProbeKind.Readiness when due.Instance == 0 && !counter.Decided:
                    // A container that outlived an agent restart: its last result stood meanwhile, and the
                    // first probe since decides at once, either way.
                    counter.Decided = true;
                    readyNow = container.ReadinessProbePassed != result.Success ? result.Success : null;
                    container.ReadinessProbePassed = result.Success;
                    due.Pod.ProbeUnsaved = true;
                    break;
                case ProbeKind.Readiness when result.Success && !container.ReadinessProbePassed && counter.Successes >= ContainerProber.SuccessThreshold(due.Probe):
                    container.ReadinessProbePassed = true;
                    due.Pod.ProbeUnsaved = true;
                    readyNow = true;
                    break;
                case ProbeKind.Readiness when !result.Success && container.ReadinessProbePassed && counter.Failures >= ContainerProber.FailureThreshold(due.Probe):
                    container.ReadinessProbePassed = false;
                    due.Pod.ProbeUnsaved = true;
                    readyNow = false;
                    break;
            }

            ReadyTransition(due.Pod, _time.GetUtcNow());
        }

        if (readyNow is { } ready)
        {
            LogReadinessChanged(_logger, due.Container.Name, due.Pod.Name, due.Pod.LeaseId, ready, ready ? "" : result.Message);
        }

        return stop;
    }

    /// <summary>Stops a container that failed its liveness or startup probe; the restart policy decides what follows.</summary>
    private async Task StopForProbeAsync(DueProbe due, string cause, CancellationToken cancellationToken)
    {
        var pod = due.Pod;
        var container = due.Container;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_pods)
            {
                if (pod.Deleting || container.Instance != due.Instance || container.Phase != ContainerPhase.Running || !_busy.Add(pod.Key))
                {
                    return;
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        try
        {
            LogProbeStop(_logger, cause, pod.Name, pod.LeaseId);
            var grace = (due.Probe.TerminationGracePeriodSeconds ?? pod.ParsedPod.Spec.TerminationGracePeriodSeconds) is { } seconds
                ? TimeSpan.FromSeconds(seconds)
                : _options.TerminationGrace;
            await _runtime.StopAsync(due.Handle, grace, cancellationToken).ConfigureAwait(false);
            var ended = await _runtime.ProbeAsync(due.Handle, WorkDir(pod, container.Name), LogPath(pod, container.Name), cancellationToken).ConfigureAwait(false);
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                lock (_pods)
                {
                    // 137, as for a container killed on a failed probe elsewhere, when the runtime cannot tell the code.
                    Exited(pod, container, ended.ExitCode ?? 137, pod.ParsedPod.Spec.RestartPolicy ?? "Always", cause, killedForProbe: true);
                    ReadyTransition(pod, _time.GetUtcNow());
                    pod.ReadyUnsaved = false;
                    pod.ProbeUnsaved = false;
                }

                _store.Save(pod);
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            lock (_pods)
            {
                _busy.Remove(pod.Key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "a round of probes failed")]
    private static partial void LogProbeRoundFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the {Kind} probe of container {Container} of pod {Pod} (lease {Lease}) could not run")]
    private static partial void LogProbeFailedToRun(ILogger logger, Exception error, string kind, string container, string pod, string lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Container} of pod {Pod} (lease {Lease}) ready: {Ready} {Message}")]
    private static partial void LogReadinessChanged(ILogger logger, string container, string pod, string lease, bool ready, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "container {Container} of pod {Pod} (lease {Lease}) failed a probe and could not be stopped")]
    private static partial void LogProbeStopFailed(ILogger logger, Exception error, string container, string pod, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Cause} (pod {Pod}, lease {Lease})")]
    private static partial void LogProbeStop(ILogger logger, string cause, string pod, string lease);
}
