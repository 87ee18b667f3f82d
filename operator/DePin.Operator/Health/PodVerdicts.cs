using System.Globalization;
using DePin.Operator.Deployments;
using k8s.Models;

namespace DePin.Operator.Health;

/// <summary>Why the pods a provider runs for a lease fail a probe round.</summary>
/// <param name="Reason">The reason, as the lease's SLAHealthy condition gives it.</param>
/// <param name="Message">What was seen, naming the pod.</param>
/// <param name="Deadline">The start-up deadline passed: the lease fails at once rather than after failureThreshold rounds.</param>
internal sealed record PodVerdict(string Reason, string Message, bool Deadline);

/// <summary>
/// Judges the pods on a lease's node by what the provider reports of them and what the lease's monitor
/// saw before, by the operator's clock: a Failed pod, a pod not Ready within <c>sla.startupSeconds</c>
/// of its creation or of when it was last Ready, and a pod that was Ready, or has had its start-up
/// time, and is not Ready now.
/// </summary>
internal static class PodVerdicts
{
    /// <summary>The verdict on the lease's pods this round, or null when they pass; notes what it saw in <paramref name="health"/>.</summary>
    /// <param name="onNode">The pods on the lease's node, not being deleted.</param>
    /// <param name="health">The lease's health, with what the monitor saw of each pod.</param>
    /// <param name="startup">sla.startupSeconds.</param>
    /// <param name="now">The operator's clock.</param>
    /// <param name="probedPort">The container port the workload's probe names, or null without a probe.</param>
    public static PodVerdict? Judge(IReadOnlyList<V1Pod> onNode, LeaseHealth health, TimeSpan startup, DateTimeOffset now, int? probedPort)
    {
        ArgumentNullException.ThrowIfNull(onNode);
        ArgumentNullException.ThrowIfNull(health);
        if (onNode.FirstOrDefault(p => p.Status?.Phase == "Failed") is { } failed)
        {
            return new PodVerdict("PodsFailed", $"the provider reports pod {failed.Metadata.Name} Failed", false);
        }

        // Every pod must be Ready within sla.startupSeconds of its creation, and again within that long of
        // when it was last seen Ready: a provider that refuses, fails or stalls a pod is not paid for long.
        health.KeepPods(onNode.Select(p => p.Metadata.Uid).ToHashSet(StringComparer.Ordinal));
        string? notReady = null;
        foreach (var pod in onNode)
        {
            var watch = health.Watch(pod.Metadata.Uid);
            var ready = PodTemplates.IsReady(pod);

            // A pod Ready without a running container (as its provider tells it) has started too.
            if (watch.Started is null && (PodStart(pod, now) ?? (ready ? now : null)) is { } started)
            {
                watch.Started = started;
            }

            if (ready)
            {
                watch.LastReady = now;
                continue;
            }

            // Before this process measured the lease, whether the pod was Ready is not known.
            var created = pod.Metadata.CreationTimestamp is { } at ? ClusterObjects.Utc(at) : now;
            var measured = health.MeasuredSince ?? now;
            var since = watch.LastReady ?? (measured > created ? measured : created);
            if (now - since >= startup)
            {
                var (reason, what) = watch.LastReady is null ? ("StartupDeadlineExceeded", "has not been Ready since it was created") : ("PodNotReady", "has not been Ready");
                return new PodVerdict(reason, string.Create(CultureInfo.InvariantCulture, $"pod {pod.Metadata.Name} {what} {(now - since).TotalSeconds:0} s ago, past sla.startupSeconds ({startup.TotalSeconds:0}); {Describe(pod)}"), true);
            }

            // A pod that was Ready, or has had its start-up time, and is not Ready now serves nothing: the
            // round fails, so that a provider cannot pass its rounds between short spells of Ready.
            if (watch.LastReady is not null || now - (watch.Started ?? since) >= startup)
            {
                notReady ??= $"pod {pod.Metadata.Name} is not Ready; {Describe(pod)}";
            }
        }

        if (notReady is not null)
        {
            return new PodVerdict("PodNotReady", notReady, false);
        }

        // A Ready pod for which the provider reports no host port for the probed port cannot be probed, so
        // cannot pass: once it has had its start-up time, that fails the round.
        if (probedPort is { } port)
        {
            foreach (var pod in onNode.Where(p => PodTemplates.IsReady(p) && HostPort(p, port) is null))
            {
                if (now - (health.Watch(pod.Metadata.Uid).Started ?? now) >= startup)
                {
                    return new PodVerdict("ProbeFailed", string.Create(CultureInfo.InvariantCulture, $"pod {pod.Metadata.Name} reports no host port for the probed port {port}"), false);
                }
            }
        }

        return null;
    }

    /// <summary>The host port a provider reports for a pod's container port (the operator keeps them in an annotation), or null.</summary>
    public static int? HostPort(V1Pod pod, int containerPort)
    {
        ArgumentNullException.ThrowIfNull(pod);
        foreach (var pair in (Names.Get(pod.Metadata.Annotations, Names.HostPortsAnnotation) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=');
            if (parts.Length == 2 && parts[0] == containerPort.ToString(CultureInfo.InvariantCulture) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var host))
            {
                return host;
            }
        }

        return null;
    }

    // When a pod first started, as far as the operator can tell: the provider's own start time, but never
    // before the pod was created nor after the operator first saw it running (a provider that reports a
    // later start cannot stretch the grace). Null while no container has started.
    private static DateTimeOffset? PodStart(V1Pod pod, DateTimeOffset now)
    {
        var running = (pod.Status?.ContainerStatuses ?? []).Select(c => c.State?.Running).Where(r => r is not null).ToList();
        if (running.Count == 0 && pod.Status?.Phase != "Running")
        {
            return null;
        }

        var created = pod.Metadata.CreationTimestamp is { } at ? ClusterObjects.Utc(at) : now;
        var reported = running.Select(r => r!.StartedAt).Where(t => t is not null).Select(t => ClusterObjects.Utc(t!.Value)).DefaultIfEmpty(now).Min();
        return reported < created ? created : reported > now ? now : reported;
    }

    // The provider's account of a pod that is not Ready: its phase and why its containers wait.
    private static string Describe(V1Pod pod)
    {
        var waiting = (pod.Status?.ContainerStatuses ?? []).Select(c => c.State?.Waiting is { } w ? $"{c.Name}: {w.Reason}{(string.IsNullOrEmpty(w.Message) ? "" : " " + w.Message)}" : null).Where(w => w is not null).ToList();
        if (waiting.Count == 0 && pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && !string.IsNullOrEmpty(c.Reason)) is { } ready)
        {
            waiting.Add($"{ready.Reason}{(string.IsNullOrEmpty(ready.Message) ? "" : ": " + ready.Message)}");
        }

        var phase = pod.Status?.Phase is { Length: > 0 } p ? p : "no status from the provider";
        var text = waiting.Count > 0 ? $"{phase} ({string.Join("; ", waiting)})" : phase;

        // The provider writes these words: they go to conditions, Events and logs, so they are kept short
        // and on one line.
        text = string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));
        return text.Length > 300 ? text[..300] + "..." : text;
    }
}
