using System.Diagnostics.Metrics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DePin.Runtime.Leadership;

/// <summary>Settings of a <see cref="LeaderElector"/>.</summary>
public sealed class LeaderElectionOptions
{
    /// <summary>Name of the Lease. Required.</summary>
    public required string LeaseName { get; init; }

    /// <summary>Namespace of the Lease. Required.</summary>
    public required string Namespace { get; init; }

    /// <summary>This replica's identity, usually the pod name. Required, unique among replicas.</summary>
    public required string Identity { get; init; }

    /// <summary>How long others wait after the last renewal they saw before taking over. Default 15 seconds.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a leader keeps trying to renew before it stops leading; shorter than the lease. Default 10 seconds.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time between attempts to acquire or renew. Default 2 seconds.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, in the manner of client-go: candidates try to
/// take the Lease when its holder has not renewed it for <see cref="LeaderElectionOptions.LeaseDuration"/>
/// as measured on their own clock; the leader renews it every retry period and stops leading when it
/// has not managed to for <see cref="LeaderElectionOptions.RenewDeadline"/>, which is shorter than the
/// lease, so it stops before anyone else can start. Writes carry the resourceVersion read, so two
/// candidates never both win.
/// </summary>
public sealed partial class LeaderElector
{
    private static readonly Meter Meter = new("DePin.Runtime.LeaderElection");
    private static readonly Counter<long> Transitions = Meter.CreateCounter<long>("depin_leader_transitions_total", description: "Times this replica started or stopped leading.");

    private readonly IKubernetes _client;
    private readonly LeaderElectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private V1Lease? _observed;
    private long _observedAt;
    private volatile bool _leading;

    /// <summary>Creates an elector.</summary>
    /// <param name="client">The API client.</param>
    /// <param name="options">Settings.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    /// <param name="logger">Where to log, or null.</param>
    public LeaderElector(IKubernetes client, LeaderElectionOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        if (options.RenewDeadline >= options.LeaseDuration || options.RetryPeriod >= options.RenewDeadline)
        {
            throw new ArgumentException("leader election needs RetryPeriod < RenewDeadline < LeaseDuration", nameof(options));
        }

        _client = client;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Whether this replica leads now (for <c>/readyz</c>).</summary>
    public bool IsLeader => _leading;

    /// <summary>
    /// Campaigns until cancelled; while leading, runs <paramref name="lead"/> with a token that is
    /// cancelled when leadership is lost, and waits for it to return before campaigning again.
    /// </summary>
    /// <param name="lead">What to do while leading.</param>
    /// <param name="cancellationToken">Stops the campaign; a leader then releases the Lease.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                while (!await TryAcquireOrRenewAsync(cancellationToken).ConfigureAwait(false))
                {
                    await Task.Delay(_options.RetryPeriod, _time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _leading = true;
            Transitions.Add(1, new KeyValuePair<string, object?>("change", "started"));
            LogStarted(_logger, _options.Identity, _options.LeaseName);
            var work = Task.Run(() => lead(leading.Token), CancellationToken.None);
            try
            {
                await RenewUntilLostAsync(leading.Token).ConfigureAwait(false);
            }
            finally
            {
                // Stop the work first, then stop claiming to lead.
                await leading.CancelAsync().ConfigureAwait(false);
                try
                {
                    await work.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The work ended because leadership did.
                }

                _leading = false;
                Transitions.Add(1, new KeyValuePair<string, object?>("change", "stopped"));
                LogStopped(_logger, _options.Identity, _options.LeaseName);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                await ReleaseAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task RenewUntilLostAsync(CancellationToken cancellationToken)
    {
        var lastRenewal = _time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RetryPeriod, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var remaining = _options.RenewDeadline - _time.GetElapsedTime(lastRenewal);
            if (remaining <= TimeSpan.Zero)
            {
                // The deadline passed while waiting (a stalled process, a slow previous attempt): stop leading now.
                LogRenewFailed(_logger, _options.Identity, _time.GetElapsedTime(lastRenewal));
                return;
            }

            bool renewed;
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(remaining);
                renewed = await TryAcquireOrRenewAsync(attempt.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                renewed = false;
            }
            catch (OperationCanceledException)
            {
                // Stopping: a renewal cut short by the stop is not a failure.
                return;
            }

            if (renewed)
            {
                lastRenewal = _time.GetTimestamp();
            }
            else if (_time.GetElapsedTime(lastRenewal) >= _options.RenewDeadline - _options.RetryPeriod)
            {
                // The next attempt could only succeed after the deadline: stop leading now.
                LogRenewFailed(_logger, _options.Identity, _time.GetElapsedTime(lastRenewal));
                return;
            }
        }
    }

    // True when this replica holds the Lease afterwards.
    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        V1Lease? current;
        try
        {
            current = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_options.LeaseName, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            current = null;
        }
        catch (Exception e) when (IsFailedAttempt(e, cancellationToken))
        {
            LogError(_logger, e, _options.Identity);
            return false;
        }

        if (current is null)
        {
            try
            {
                Observe(await _client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = _options.LeaseName, NamespaceProperty = _options.Namespace },
                    Spec = Spec(now, now, transitions: 0),
                }, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false));
                return true;
            }
            catch (Exception e) when (IsFailedAttempt(e, cancellationToken))
            {
                return false;
            }
        }

        if (_observed?.Metadata.ResourceVersion != current.Metadata.ResourceVersion)
        {
            Observe(current);
        }

        var holder = current.Spec?.HolderIdentity;
        var mine = holder == _options.Identity;
        var expired = string.IsNullOrEmpty(holder) || _time.GetElapsedTime(_observedAt) > _options.LeaseDuration;
        if (!mine && !expired)
        {
            return false;
        }

        var spec = current.Spec ?? new V1LeaseSpec();
        var updated = new V1Lease
        {
            Metadata = current.Metadata,
            Spec = Spec(mine ? spec.AcquireTime ?? now : now, now, mine ? spec.LeaseTransitions ?? 0 : (spec.LeaseTransitions ?? 0) + 1),
        };
        try
        {
            Observe(await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(updated, _options.LeaseName, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false));
            return true;
        }
        catch (Exception e) when (IsFailedAttempt(e, cancellationToken))
        {
            // 409: someone else wrote it first; anything else: try again next period.
            return false;
        }
    }

    // A failed call is another try next period; only a stop that was asked for ends the campaign.
    private static bool IsFailedAttempt(Exception e, CancellationToken cancellationToken) =>
        e is HttpOperationException or HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.RetryPeriod);
            var current = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_options.LeaseName, _options.Namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (current.Spec?.HolderIdentity != _options.Identity)
            {
                return;
            }

            // An empty holder lets the next candidate take over at once instead of after the lease duration.
            current.Spec.HolderIdentity = null;
            current.Spec.LeaseDurationSeconds = 1;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(current, _options.LeaseName, _options.Namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            // The lease expires on its own.
        }
    }

    private V1LeaseSpec Spec(DateTime acquired, DateTime renewed, int transitions) => new()
    {
        HolderIdentity = _options.Identity,
        LeaseDurationSeconds = (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds),
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    private void Observe(V1Lease lease)
    {
        _observed = lease;
        _observedAt = _time.GetTimestamp();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} started leading with Lease {Lease}")]
    private static partial void LogStarted(ILogger logger, string identity, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Identity} stopped leading with Lease {Lease}")]
    private static partial void LogStopped(ILogger logger, string identity, string lease);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Identity} could not renew its Lease for {Elapsed}; stopping its controllers")]
    private static partial void LogRenewFailed(ILogger logger, string identity, TimeSpan elapsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Identity}: reading the Lease failed")]
    private static partial void LogError(ILogger logger, Exception error, string identity);
}
