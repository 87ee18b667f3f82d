using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using DePin.Api.V1Alpha1;
using DePin.Ethereum;
using DePin.Marketplace;
using DePin.Operator.Deployments;
using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using k8s.Models;

namespace DePin.Operator.Health;

/// <summary>
/// Probes every open lease, all the time. The provider's streamed heartbeat is followed, so a crash
/// (the connection breaks, and one poll confirms it) is seen at once, and silence longer than
/// <c>periodSeconds × failureThreshold</c> fails the lease too. Every <c>periodSeconds</c> a round
/// checks that a heartbeat verified within the timeout (polling one when the stream has been quiet),
/// runs the workload's <c>sla.probe</c> against each Ready pod through the provider's host and its
/// host port, checks that the agent reports no pod Failed, and compares the p99 latency with
/// <c>maxLatencyMs</c>. <c>failureThreshold</c> failed rounds in a row make the lease unhealthy.
/// </summary>
internal sealed partial class LeaseMonitor(
    Informer<DePinLease> leases,
    Informer<DePinDeployment> deployments,
    Informer<V1Pod> pods,
    LeaseHealthRegistry registry,
    ProviderReputation reputation,
    HttpClient http,
    TimeProvider time,
    ILogger<LeaseMonitor> logger) : IController
{
    private static readonly TimeSpan Scan = TimeSpan.FromMilliseconds(250);

    private readonly Dictionary<string, ProviderStream> _streams = new(StringComparer.Ordinal);
    private CancellationToken _stopping;

    public string Name => "depinlease.monitor";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await leases.Synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        _stopping = cancellationToken;
        try
        {
            await reputation.LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException)
        {
            LogReputationUnavailable(logger, e.Message);
        }

        var running = new Dictionary<string, (CancellationTokenSource Stop, Task Task)>(StringComparer.Ordinal);
        var saved = time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (time.GetElapsedTime(saved) >= TimeSpan.FromSeconds(15))
                {
                    saved = time.GetTimestamp();
                    await SaveQuietlyAsync(cancellationToken).ConfigureAwait(false);
                }

                var wanted = leases.Cache.List()
                    .Where(l => l.Metadata.DeletionTimestamp is null && l.Status?.State is not (LeaseState.Closing or LeaseState.Closed))
                    .ToDictionary(l => l.Metadata.Uid, StringComparer.Ordinal);
                foreach (var (uid, lease) in wanted)
                {
                    if (!running.ContainsKey(uid))
                    {
                        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        var key = ObjectKey.Of(lease);
                        running[uid] = (stop, Task.Run(() => MonitorAsync(key, uid, stop.Token), CancellationToken.None));
                    }
                }

                var stopped = running.Keys.Where(uid => !wanted.ContainsKey(uid)).ToList();
                var present = stopped.Count > 0 ? leases.Cache.List().Select(l => l.Metadata.Uid).ToHashSet(StringComparer.Ordinal) : [];
                foreach (var uid in stopped)
                {
                    await running[uid].Stop.CancelAsync().ConfigureAwait(false);
                    await Quietly(running[uid].Task).ConfigureAwait(false);
                    running[uid].Stop.Dispose();
                    running.Remove(uid);

                    // A closing lease keeps its figures until its object is gone.
                    if (!present.Contains(uid))
                    {
                        registry.Forget(uid);
                    }
                }

                await Task.Delay(Scan, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            foreach (var (stop, task) in running.Values)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await Quietly(task).ConfigureAwait(false);
                stop.Dispose();
            }

            await SaveQuietlyAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task SaveQuietlyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await reputation.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            LogReputationUnavailable(logger, e.Message);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private static (TimeSpan Period, TimeSpan Timeout, int Threshold) Settings(DePinDeployment? deployment)
    {
        var probe = deployment?.Spec.Sla?.Probe;
        var period = TimeSpan.FromSeconds(probe?.PeriodSeconds ?? 5);
        var timeout = TimeSpan.FromSeconds(Math.Min(probe?.TimeoutSeconds ?? 2, period.TotalSeconds));
        return (period, timeout, probe?.FailureThreshold ?? 3);
    }

    private async Task MonitorAsync(string key, string uid, CancellationToken cancellationToken)
    {
        if (leases.Cache.Get(key) is not { } first)
        {
            return;
        }

        var health = registry.GetOrAdd(first);
        health.Measuring(time.GetUtcNow());
        var stream = Join(first, key, uid, health);
        try
        {
            while (!cancellationToken.IsCancellationRequested && leases.Cache.Get(key) is { } lease)
            {
                var deployment = deployments.Cache.Get(ObjectKey.Of(lease.Metadata.NamespaceProperty, lease.Spec.Deployment));
                var (period, timeout, threshold) = Settings(deployment);
                var started = time.GetTimestamp();
                var (ok, latency, reason, message, deadline, heartbeatAt) = await RoundAsync(lease, deployment, health, timeout, cancellationToken).ConfigureAwait(false);
                if (latency is { } ms)
                {
                    OperatorMetrics.ProbeSeconds.Record(ms / 1000, new KeyValuePair<string, object?>("provider", lease.Spec.Provider.Id));
                }

                if (!ok)
                {
                    OperatorMetrics.ProbeFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
                }

                reputation.Record(lease.Spec.Provider.Id, ok, latency);

                // A start-up deadline that passed fails the lease at once: it already gave the pod its time.
                if (deadline ? health.FailPods(reason!, message!, time.GetUtcNow()) : health.Round(ok, latency, reason, message, threshold, time.GetUtcNow(), heartbeatAt))
                {
                    Changed(lease, uid, health);
                }

                var rest = period - time.GetElapsedTime(started);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await LeaveAsync(stream, uid).ConfigureAwait(false);
        }
    }

    // One heartbeat stream per provider, whatever the number of its leases: every lease with it shares
    // the stream's heartbeats, and a crash fails them all at once.
    private ProviderStream? Join(DePinLease lease, string key, string uid, LeaseHealth health)
    {
        if (lease.Spec.Provider.Address is not { } text || !Uri.TryCreate(lease.Spec.Provider.Endpoint, UriKind.Absolute, out var endpoint))
        {
            return null;
        }

        var address = Address.Parse(text);
        lock (_streams)
        {
            var id = $"{endpoint}|{address}";
            if (!_streams.TryGetValue(id, out var stream))
            {
                stream = new ProviderStream(id, lease.Spec.Provider.Id, _stopping);
                stream.Task = Task.Run(() => FollowAsync(stream, endpoint, address, stream.Stop.Token), CancellationToken.None);
                _streams[id] = stream;
            }

            stream.Leases[uid] = (key, health);
            return stream;
        }
    }

    private async Task LeaveAsync(ProviderStream? stream, string uid)
    {
        if (stream is null)
        {
            return;
        }

        lock (_streams)
        {
            stream.Leases.TryRemove(uid, out _);
            if (!stream.Leases.IsEmpty)
            {
                return;
            }

            _streams.Remove(stream.Id);
        }

        await stream.Stop.CancelAsync().ConfigureAwait(false);
        await Quietly(stream.Task).ConfigureAwait(false);
        stream.Stop.Dispose();
    }

    private void Changed(DePinLease lease, string uid, LeaseHealth health)
    {
        LogChanged(logger, lease.Metadata.Name, lease.Spec.Provider.Id, health.State, health.Reason ?? "", health.Message ?? "");
        registry.Notify(uid);
    }

    // Follows a provider's streamed heartbeat. A break is confirmed by one poll before it counts: a
    // crashed provider refuses the poll at once; a blip of the connection does not move any replica.
    private async Task FollowAsync(ProviderStream stream, Uri endpoint, Address address, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);

        // The heartbeat needs no credentials: anyone may check that a provider is alive.
        var client = new AgentClient(http, endpoint, AgentCredentials.Bearer(""), time);
        while (!cancellationToken.IsCancellationRequested)
        {
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var silence = Task.Run(() => WatchSilenceAsync(stream, watch.Token), CancellationToken.None);
            var beats = 0;
            string? broke = null;
            try
            {
                await foreach (var _ in client.HeartbeatStreamAsync(address, watch.Token).ConfigureAwait(false))
                {
                    var now = time.GetUtcNow();
                    foreach (var (_, health) in stream.Leases.Values)
                    {
                        health.Beat(now);
                    }

                    beats++;
                    backoff = TimeSpan.FromMilliseconds(200);
                }

                broke = "the heartbeat stream ended";
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException or AgentRequestFailedException or JsonException or OperationCanceledException)
            {
                broke = $"the heartbeat stream broke: {e.Message}";
            }
            finally
            {
                await watch.CancelAsync().ConfigureAwait(false);
                await Quietly(silence).ConfigureAwait(false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (await PollAsync(client, address, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false) is null)
            {
                var now = time.GetUtcNow();
                foreach (var (_, health) in stream.Leases.Values)
                {
                    health.Beat(now);
                }
            }
            else
            {
                var failedOnce = false;
                foreach (var (uid, (key, health)) in stream.Leases)
                {
                    if ((beats > 0 || health.State == HealthState.Healthy) && leases.Cache.Get(key) is { } lease)
                    {
                        failedOnce = true;
                        if (health.Fail("HeartbeatLost", $"{broke}, and the provider does not answer", time.GetUtcNow()))
                        {
                            Changed(lease, uid, health);
                        }
                    }
                }

                if (failedOnce)
                {
                    reputation.Record(stream.Provider, ok: false, null);
                }
            }

            await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    // A provider that goes silent without closing the connection (frozen, or cut off) fails each of its
    // leases once no heartbeat has verified for that lease's periodSeconds × failureThreshold.
    private async Task WatchSilenceAsync(ProviderStream stream, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Scan, time, cancellationToken).ConfigureAwait(false);
                foreach (var (uid, (key, health)) in stream.Leases)
                {
                    if (leases.Cache.Get(key) is not { } lease)
                    {
                        continue;
                    }

                    var (period, _, threshold) = Settings(deployments.Cache.Get(ObjectKey.Of(lease.Metadata.NamespaceProperty, lease.Spec.Deployment)));
                    var limit = period * threshold;
                    if (health.State == HealthState.Healthy && health.LastHeartbeat is { } last && time.GetUtcNow() - last > limit
                        && health.Fail("HeartbeatTimeout", string.Create(CultureInfo.InvariantCulture, $"no signed heartbeat for {limit.TotalSeconds:0.#} s"), time.GetUtcNow()))
                    {
                        Changed(lease, uid, health);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The stream ended.
        }
    }

    // One heartbeat poll; null when it verified, else why not.
    private static async Task<string?> PollAsync(AgentClient client, Address address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await client.HeartbeatAsync(address, limit.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is AgentRequestFailedException or HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return e is OperationCanceledException ? string.Create(CultureInfo.InvariantCulture, $"no heartbeat within {timeout.TotalSeconds:0.#} s") : e.Message;
        }
    }

    private async Task<(bool Ok, double? LatencyMs, string? Reason, string? Message, bool Deadline, DateTimeOffset? HeartbeatAt)> RoundAsync(DePinLease lease, DePinDeployment? deployment, LeaseHealth health, TimeSpan timeout, CancellationToken cancellationToken)
    {
        double? latency = null;

        // The heartbeat: fresh from the stream, or polled now. A heartbeat from before the stream broke
        // does not count: the provider's workloads may outlive it and still pass their probe.
        if (!health.HeartbeatFresh(time.GetUtcNow(), timeout + TimeSpan.FromSeconds(1), out var heartbeatAt))
        {
            if (lease.Spec.Provider.Address is not { } text)
            {
                return (false, null, "HeartbeatFailed", $"provider {lease.Spec.Provider.Id} has no address to check its heartbeat signature against", false, null);
            }

            if (!Uri.TryCreate(lease.Spec.Provider.Endpoint, UriKind.Absolute, out var agent))
            {
                return (false, null, "HeartbeatFailed", $"provider {lease.Spec.Provider.Id} has no endpoint to poll its heartbeat at", false, null);
            }

            // The heartbeat needs no credentials, so the poll needs no marketplace: one that cannot be
            // reached must not let a dead provider pass. The proof dates from when the poll was sent, so
            // that a failure confirmed meanwhile is not outdated by it.
            var client = new AgentClient(http, agent, AgentCredentials.Bearer(""), time);
            var sent = time.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            if (await PollAsync(client, Address.Parse(text), timeout, cancellationToken).ConfigureAwait(false) is { } failure)
            {
                return (false, null, "HeartbeatTimeout", $"the heartbeat of {lease.Spec.Provider.Id} failed: {failure}", false, null);
            }

            latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            health.Beat(sent);
            heartbeatAt = sent;
        }

        var nodeName = Names.Node(lease.Spec.Marketplace, lease.Spec.LeaseId);
        var onNode = pods.Cache.ByIndex(PodIndexes.NodeName, nodeName).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        var startup = TimeSpan.FromSeconds(deployment?.Spec.Sla?.StartupSeconds ?? SlaSpec.DefaultStartupSeconds);
        var now = time.GetUtcNow();
        var probedPort = deployment?.Spec.Sla?.Probe is { } slaProbe ? slaProbe.HttpGet?.Port ?? slaProbe.TcpSocket?.Port : null;
        if (PodVerdicts.Judge(onNode, health, startup, now, probedPort) is { } verdict)
        {
            return (false, latency, verdict.Reason, verdict.Message, verdict.Deadline, heartbeatAt);
        }

        // The workload's probe, through the provider's host and each Ready pod's host port.
        if (deployment?.Spec.Sla?.Probe is { } probe && Uri.TryCreate(lease.Spec.Provider.Endpoint, UriKind.Absolute, out var endpoint))
        {
            var port = probe.HttpGet?.Port ?? probe.TcpSocket!.Port;
            foreach (var pod in onNode.Where(PodTemplates.IsReady))
            {
                if (PodVerdicts.HostPort(pod, port) is not { } hostPort)
                {
                    // Still starting: past its start-up time, the verdict above failed the round.
                    continue;
                }

                var started = Stopwatch.GetTimestamp();
                if (await ProbeAsync(probe, endpoint.Host, hostPort, timeout, cancellationToken).ConfigureAwait(false) is { } failure)
                {
                    // A workload that does not listen yet is still starting: that counts once it has passed
                    // the probe, or sla.startupSeconds have gone by since it first started. An answer that
                    // fails always counts.
                    var watch = health.Watch(pod.Metadata.Uid);
                    if (!failure.Answered && !watch.Passed && now - (watch.Started ?? now) < startup)
                    {
                        continue;
                    }

                    return (false, latency, "ProbeFailed", $"pod {pod.Metadata.Name}: {failure.Message}", false, heartbeatAt);
                }

                health.Watch(pod.Metadata.Uid).Passed = true;
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                latency = Math.Max(latency ?? 0, elapsed);
            }
        }

        if (deployment?.Spec.Sla?.MaxLatencyMs is { } max && health.Ok >= 5 && health.P99() is { } p99 && p99 > max)
        {
            return (false, latency, "LatencyTooHigh", string.Create(CultureInfo.InvariantCulture, $"p99 latency {p99:0.#} ms is above sla.maxLatencyMs {max}"), false, heartbeatAt);
        }

        return (true, latency, null, null, false, heartbeatAt);
    }

    // The probe's failure, or null; Answered tells an answer that failed from no answer at all.
    private async Task<(string Message, bool Answered)?> ProbeAsync(SlaProbe probe, string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            if (probe.HttpGet is { } get)
            {
                var scheme = get.Scheme == ProbeScheme.Https ? "https" : "http";
                using var response = await http.GetAsync(new Uri($"{scheme}://{host}:{port.ToString(CultureInfo.InvariantCulture)}{get.Path}"), HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
                return (int)response.StatusCode is >= 200 and < 400 ? null : ($"GET {get.Path} answered {(int)response.StatusCode}", true);
            }

            using var socket = new TcpClient();
            await socket.ConnectAsync(host, port, limit.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (e is OperationCanceledException ? string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#} s") : e.Message, false);
        }
    }

    // The heartbeat stream of one provider and the leases that share it.
    private sealed class ProviderStream(string id, string provider, CancellationToken stopping)
    {
        public string Id { get; } = id;

        public string Provider { get; } = provider;

        public CancellationTokenSource Stop { get; } = CancellationTokenSource.CreateLinkedTokenSource(stopping);

        public Task Task { get; set; } = Task.CompletedTask;

        public System.Collections.Concurrent.ConcurrentDictionary<string, (string Key, LeaseHealth Health)> Leases { get; } = new(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "provider figures are not kept: {Error}")]
    private static partial void LogReputationUnavailable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Lease} with {Provider} is {State}: {Reason} {Message}")]
    private static partial void LogChanged(ILogger logger, string lease, string provider, HealthState state, string reason, string message);
}
