using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Runtime;
using DePin.ProviderAgent.State;
using k8s;
using k8s.Models;

namespace DePin.ProviderAgent.Pods;

/// <summary>
/// The leases and pods this agent serves: it checks pods against their lease, starts their containers,
/// supervises them (restart policy with back-off, log rotation), renders their Kubernetes status, and
/// keeps everything on disk so that an agent restart reattaches to running containers instead of
/// starting them twice.
/// </summary>
internal sealed partial class PodManager : BackgroundService
{
    private readonly AgentOptions _options;
    private readonly StateStore _store;
    private readonly CapacityLedger _ledger;
    private readonly IPodRuntime _runtime;
    private readonly ILogger<PodManager> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, LeaseRecord> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodRecord> _pods = new(StringComparer.Ordinal);
    private readonly HashSet<string> _busy = new(StringComparer.Ordinal);
    private readonly ContainerProber _prober;
    private long _instances;

    public PodManager(AgentOptions options, StateStore store, CapacityLedger ledger, IPodRuntime runtime, ContainerProber prober, ILogger<PodManager> logger, TimeProvider time)
    {
        _options = options;
        _prober = prober;
        _store = store;
        _ledger = ledger;
        _runtime = runtime;
        _logger = logger;
        _time = time;
        Recover();
    }

    public IPodRuntime Runtime => _runtime;

    public int PodCount
    {
        get
        {
            lock (_pods)
            {
                return _pods.Count;
            }
        }
    }

    public IReadOnlyList<LeaseRecord> Leases()
    {
        lock (_pods)
        {
            return [.. _leases.Values];
        }
    }

    public LeaseRecord? Lease(string id)
    {
        lock (_pods)
        {
            return _leases.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// What the host holds, read in one step: a lease and the capacity it holds come and go together,
    /// so no reader sees a lease without its capacity or capacity held by a lease that is gone.
    /// </summary>
    public HostUsage Usage()
    {
        lock (_pods)
        {
            var (used, bids) = _ledger.Snapshot("bid:");
            return new HostUsage(_leases.Count, _pods.Count, used, bids);
        }
    }

    /// <summary>Starts serving a lease, holding its capacity (taken over from the bid that won it, if any).</summary>
    /// <returns>null, or why the host cannot take it.</returns>
    public async Task<string?> AddLeaseAsync(LeaseRecord lease, string? heldBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        PodValidation.CheckName("lease id", lease.Id);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var holder = LeaseHolder(lease.Id);
            bool transferred;
            lock (_pods)
            {
                if (_leases.ContainsKey(lease.Id))
                {
                    return null;
                }

                transferred = heldBy is not null && _ledger.Transfer(heldBy, holder);
                if (!transferred && _ledger.TryReserve(holder, lease.Total) is { } shortfall)
                {
                    return $"the host cannot take lease {lease.Id}: {shortfall}";
                }

                _leases[lease.Id] = lease;
            }

            try
            {
                _store.Save(lease);
            }
            catch
            {
                // Not served after all: the capacity goes back to whoever held it before.
                lock (_pods)
                {
                    _leases.Remove(lease.Id);
                    if (transferred)
                    {
                        _ledger.Transfer(holder, heldBy!);
                    }
                    else
                    {
                        _ledger.Release(holder);
                    }
                }

                throw;
            }

            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops every pod of a lease, forgets the lease and frees its capacity.</summary>
    public async Task RemoveLeaseAsync(string id, CancellationToken cancellationToken)
    {
        foreach (var pod in List(id))
        {
            await DeleteAsync(id, pod.Name, cancellationToken).ConfigureAwait(false);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _store.DeleteLease(id);
            lock (_pods)
            {
                _leases.Remove(id);
                _ledger.Release(LeaseHolder(id));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public PodRecord? Get(string leaseId, string name)
    {
        lock (_pods)
        {
            return _pods.GetValueOrDefault(Keys.Pod(leaseId, name));
        }
    }

    public IReadOnlyList<PodRecord> List(string leaseId)
    {
        lock (_pods)
        {
            return [.. _pods.Values.Where(p => p.LeaseId == leaseId).OrderBy(p => p.Name, StringComparer.Ordinal)];
        }
    }

    public async Task<PodRecord> CreateAsync(string leaseId, V1Pod pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var name = pod.Metadata?.Name ?? "";
        var resources = PodValidation.Validate(pod, name, _runtime.Validate);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var lease = Lease(leaseId) ?? throw new AgentRequestException(404, $"lease {leaseId} is not served by this agent");
            if (Get(leaseId, name) is not null)
            {
                throw new AgentRequestException(409, $"pod {name} already exists in lease {leaseId}; update it with PUT");
            }

            CheckFits(lease, resources, except: null);
            var record = new PodRecord
            {
                LeaseId = leaseId,
                Name = name,
                Uid = Guid.NewGuid().ToString(),
                PodJson = KubernetesJson.Serialize(Strip(pod)),
                Resources = resources,
                CreatedAt = _time.GetUtcNow(),
                Containers = [.. pod.Spec.Containers.Select(c => new ContainerRecord { Name = c.Name, HostPorts = AllocatePorts(c) })],
            };
            lock (_pods)
            {
                _pods[record.Key] = record;
            }

            _store.Save(record);
            foreach (var container in record.Containers)
            {
                await StartContainerAsync(record, container, cancellationToken).ConfigureAwait(false);
            }

            _store.Save(record);
            LogPodCreated(_logger, name, leaseId);
            return record;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Replaces a pod's spec; containers whose spec changed are restarted with their ports kept.</summary>
    public async Task<PodRecord> UpdateAsync(string leaseId, string name, V1Pod pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var resources = PodValidation.Validate(pod, name, _runtime.Validate);
        PodRecord record;
        List<(ContainerRecord Old, bool Restart)> changes;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var lease = Lease(leaseId) ?? throw new AgentRequestException(404, $"lease {leaseId} is not served by this agent");
            record = Get(leaseId, name) ?? throw new AgentRequestException(404, $"pod {name} does not exist in lease {leaseId}");
            CheckFits(lease, resources, except: record);
            lock (_pods)
            {
                if (record.Deleting || !_busy.Add(record.Key))
                {
                    throw new AgentRequestException(409, $"pod {name} is being changed or deleted; try again");
                }
            }

            var old = record.ParsedPod;
            var newContainers = pod.Spec.Containers;
            changes = [.. record.Containers.Select(c =>
            {
                var before = old.Spec.Containers.FirstOrDefault(x => x.Name == c.Name);
                var after = newContainers.FirstOrDefault(x => x.Name == c.Name);
                return (c, after is null || before is null || KubernetesJson.Serialize(before) != KubernetesJson.Serialize(after));
            })];
            record.PodJson = KubernetesJson.Serialize(Strip(pod));
            record.Resources = resources;
        }
        finally
        {
            _gate.Release();
        }

        try
        {
            foreach (var (container, restart) in changes.Where(c => c.Restart))
            {
                await StopContainerAsync(record, container, cancellationToken).ConfigureAwait(false);
            }

            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var spec = record.ParsedPod.Spec.Containers;
                var kept = record.Containers.Where(c => spec.Any(s => s.Name == c.Name)).ToList();
                foreach (var added in spec.Where(s => kept.All(c => c.Name != s.Name)))
                {
                    kept.Add(new ContainerRecord { Name = added.Name, HostPorts = AllocatePorts(added) });
                }

                foreach (var container in kept)
                {
                    var containerSpec = spec.First(s => s.Name == container.Name);
                    foreach (var port in containerSpec.Ports ?? [])
                    {
                        if (!container.HostPorts.ContainsKey(port.ContainerPort))
                        {
                            container.HostPorts[port.ContainerPort] = FreePort();
                        }
                    }

                    if (container.Pid == 0 && container.ContainerId is null)
                    {
                        container.RestartAt = null;
                        await StartContainerAsync(record, container, cancellationToken).ConfigureAwait(false);
                    }
                }

                record.Containers = kept;
                _store.Save(record);
                return record;
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
                _busy.Remove(record.Key);
            }
        }
    }

    /// <summary>Stops a pod's containers and their whole process groups, then forgets the pod.</summary>
    public async Task DeleteAsync(string leaseId, string name, CancellationToken cancellationToken)
    {
        PodRecord record;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            record = Get(leaseId, name) ?? throw new AgentRequestException(404, $"pod {name} does not exist in lease {leaseId}");
            lock (_pods)
            {
                if (!_busy.Add(record.Key))
                {
                    throw new AgentRequestException(409, $"pod {name} is being changed; try again");
                }
            }

            record.Deleting = true;
            _store.Save(record);
        }
        finally
        {
            _gate.Release();
        }

        try
        {
            foreach (var container in record.Containers)
            {
                await StopContainerAsync(record, container, cancellationToken).ConfigureAwait(false);
            }

            lock (_pods)
            {
                _pods.Remove(record.Key);
            }

            _store.DeletePod(record);
            TryDelete(PodFolder(record));
            LogPodDeleted(_logger, name, leaseId);
        }
        finally
        {
            lock (_pods)
            {
                _busy.Remove(record.Key);
            }
        }
    }

    public string LogPath(PodRecord pod, string container) =>
        Path.Combine(_options.DataDir, "logs", pod.LeaseId, pod.Name, container + ".log");

    /// <summary>The pod as Kubernetes shows it: the spec with host ports filled in, and its status.</summary>
    public V1Pod Render(PodRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        V1Pod pod;
        List<ContainerRecord> containers;
        DateTimeOffset readySince;
        bool isReady;
        lock (_pods)
        {
            pod = KubernetesJson.Deserialize<V1Pod>(record.PodJson);
            containers = [.. record.Containers.Select(c => c with { HostPorts = new Dictionary<int, int>(c.HostPorts) })];
            readySince = ReadyTransition(record, _time.GetUtcNow());
            isReady = record.Ready;
        }

        pod.Metadata.Uid = record.Uid;
        pod.Metadata.CreationTimestamp = record.CreatedAt.UtcDateTime;
        foreach (var spec in pod.Spec.Containers)
        {
            var state = containers.FirstOrDefault(c => c.Name == spec.Name);
            foreach (var port in spec.Ports ?? [])
            {
                if (state?.HostPorts.TryGetValue(port.ContainerPort, out var host) == true)
                {
                    port.HostPort = host;
                }
            }
        }

        var statuses = containers.Select(c => new V1ContainerStatus
        {
            Name = c.Name,
            Image = pod.Spec.Containers.FirstOrDefault(s => s.Name == c.Name)?.Image ?? "",
            ImageID = "",
            Ready = ContainerReady(c, pod.Spec.Containers.FirstOrDefault(s => s.Name == c.Name)),
            Started = Started(c, pod.Spec.Containers.FirstOrDefault(s => s.Name == c.Name)),
            RestartCount = c.RestartCount,
            ContainerID = c.Pid > 0 ? $"{_runtime.Name}://{c.Pid.ToString(CultureInfo.InvariantCulture)}" : c.ContainerId is { } id ? $"{_runtime.Name}://{id}" : null,
            State = c.Phase switch
            {
                ContainerPhase.Running => new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = c.StartedAt?.UtcDateTime } },
                ContainerPhase.Terminated => new V1ContainerState { Terminated = Terminated(c.ExitCode, c.Reason, c.Message, c.StartedAt, c.FinishedAt) },
                _ => new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = c.Reason, Message = c.Message } },
            },
            LastState = c.LastExitCode is { } last && c.Phase != ContainerPhase.Terminated
                ? new V1ContainerState { Terminated = Terminated(last, last == 0 ? "Completed" : "Error", c.LastMessage, null, c.FinishedAt) }
                : new V1ContainerState(),
        }).ToList();
        var allDone = containers.Count > 0 && containers.All(c => c.Phase == ContainerPhase.Terminated);
        var phase = allDone ? (containers.All(c => c.ExitCode == 0) ? "Succeeded" : "Failed")
            : containers.Any(c => c.Phase == ContainerPhase.Running || c.RestartCount > 0) ? "Running"
            : "Pending";
        var ready = isReady ? "True" : "False";
        pod.Status = new V1PodStatus
        {
            Phase = phase,
            HostIP = "127.0.0.1",
            StartTime = record.CreatedAt.UtcDateTime,
            ContainerStatuses = statuses,
            Conditions =
            [
                new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = record.CreatedAt.UtcDateTime },
                new V1PodCondition { Type = "Initialized", Status = "True", LastTransitionTime = record.CreatedAt.UtcDateTime },
                new V1PodCondition { Type = "ContainersReady", Status = ready, LastTransitionTime = readySince.UtcDateTime },
                new V1PodCondition { Type = "Ready", Status = ready, LastTransitionTime = readySince.UtcDateTime },
            ],
        };
        return pod;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(SuperviseLoopAsync(stoppingToken), ProbeLoopAsync(stoppingToken));

    private async Task SuperviseLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SuperviseAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSuperviseFailed(_logger, e);
            }

            await Task.Delay(_options.StatusInterval, _time, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One round of supervision: notices exits, restarts per policy, rotates logs.</summary>
    internal async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<PodRecord> pods;
            lock (_pods)
            {
                pods = [.. _pods.Values.Where(p => !p.Deleting && !_busy.Contains(p.Key))];
            }

            foreach (var pod in pods)
            {
                var changed = false;
                var policy = pod.ParsedPod.Spec.RestartPolicy ?? "Always";
                foreach (var container in pod.Containers)
                {
                    ContainerLogs.Rotate(LogPath(pod, container.Name), _options.LogMaxBytes, _options.LogFiles);
                    if (container.Phase == ContainerPhase.Running && (container.Pid > 0 || container.ContainerId is not null))
                    {
                        var probe = await _runtime.ProbeAsync(Handle(container), WorkDir(pod, container.Name), LogPath(pod, container.Name), cancellationToken).ConfigureAwait(false);
                        if (!probe.Running)
                        {
                            Exited(pod, container, probe.ExitCode, policy);
                            changed = true;
                        }
                    }
                    else if (container.Phase == ContainerPhase.Waiting && (container.RestartAt is null || container.RestartAt <= _time.GetUtcNow()))
                    {
                        await StartContainerAsync(pod, container, cancellationToken).ConfigureAwait(false);
                        changed = true;
                    }
                }

                lock (_pods)
                {
                    // A change seen first by a render is saved here too.
                    ReadyTransition(pod, _time.GetUtcNow());
                    changed |= pod.ReadyUnsaved || pod.ProbeUnsaved;
                    pod.ReadyUnsaved = false;
                    pod.ProbeUnsaved = false;
                }

                if (changed)
                {
                    _store.Save(pod);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static V1ContainerStateTerminated Terminated(int? exitCode, string reason, string? message, DateTimeOffset? started, DateTimeOffset? finished) => new()
    {
        ExitCode = exitCode ?? 255,
        Reason = reason,
        Message = exitCode is null ? "the exit code is unknown: the process ended while the agent was not running" : message,
        StartedAt = started?.UtcDateTime,
        FinishedAt = finished?.UtcDateTime,
    };

    // Whether a pod is Ready (every container runs, has started and passes its readiness probe), and since
    // when: the time moves only when readiness changes, so that the Ready condition's lastTransitionTime
    // means what it says. Called under the pods' lock.
    private static DateTimeOffset ReadyTransition(PodRecord record, DateTimeOffset now)
    {
        var spec = record.ParsedPod.Spec.Containers;
        var ready = record.Containers.Count > 0 && record.Containers.All(c => ContainerReady(c, spec.FirstOrDefault(s => s.Name == c.Name)));
        if (record.ReadySince is null || record.Ready != ready)
        {
            record.Ready = ready;
            record.ReadySince = now;
            record.ReadyUnsaved = true;
        }

        return record.ReadySince.Value;
    }

    /// <summary>Whether a container runs and its startup probe, if any, passed.</summary>
    private static bool Started(ContainerRecord container, V1Container? spec) =>
        container.Phase == ContainerPhase.Running && (spec?.StartupProbe is null || container.StartupProbePassed);

    /// <summary>Whether a container has started and passes its readiness probe, if any.</summary>
    private static bool ContainerReady(ContainerRecord container, V1Container? spec) =>
        Started(container, spec) && (spec?.ReadinessProbe is null || container.ReadinessProbePassed);

    private static ContainerHandle Handle(ContainerRecord container) => new(container.Pid, container.StartTicks, container.ContainerId);

    private static V1Pod Strip(V1Pod pod)
    {
        pod.Status = null;
        return pod;
    }

    private static Dictionary<int, int> AllocatePorts(V1Container container) =>
        (container.Ports ?? []).ToDictionary(p => p.ContainerPort, _ => FreePort());

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string LeaseHolder(string id) => "lease:" + id;

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private void Exited(PodRecord pod, ContainerRecord container, int? exitCode, string policy, string? cause = null, bool killedForProbe = false)
    {
        var now = _time.GetUtcNow();
        container.FinishedAt = now;
        container.Pid = 0;
        container.ContainerId = null;
        // As the kubelet does, a container stopped for a failed probe restarts under OnFailure whatever its exit code.
        var restart = policy == "Always" || (policy == "OnFailure" && (exitCode != 0 || killedForProbe));
        LogContainerExited(_logger, container.Name, pod.Name, pod.LeaseId, exitCode ?? -1, restart);
        if (restart)
        {
            var delay = TimeSpan.FromTicks(Math.Min(_options.RestartBackoffMax.Ticks, _options.RestartBackoff.Ticks * (1L << Math.Min(container.RestartCount, 20))));
            container.Phase = ContainerPhase.Waiting;
            container.Reason = "CrashLoopBackOff";
            container.Message = (cause is null ? "" : cause + "; ") + string.Create(CultureInfo.InvariantCulture, $"back-off {delay.TotalSeconds:0.#}s restarting the exited container (exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"})");
            container.LastExitCode = exitCode ?? 255;
            container.LastMessage = cause;
            container.RestartAt = now + delay;
            container.RestartCount++;
        }
        else
        {
            container.Phase = ContainerPhase.Terminated;
            container.Reason = exitCode == 0 ? "Completed" : "Error";
            container.Message = cause;
            container.ExitCode = exitCode;
        }
    }

    private void CheckFits(LeaseRecord lease, ResourceRequest pod, PodRecord? except)
    {
        var others = List(lease.Id).Where(p => p != except).Select(p => p.Resources).ToList();
        var total = lease.Total;
        var cpu = others.Sum(r => r.CpuMillis) + pod.CpuMillis;
        var memory = others.Sum(r => r.MemoryMiB) + pod.MemoryMiB;
        var storage = others.Sum(r => r.StorageMiB) + pod.StorageMiB;
        var gpus = others.Sum(r => r.GpuCount) + pod.GpuCount;
        var pods = others.Count + 1;
        string? problem =
            pods > lease.Replicas ? $"lease {lease.Id} is for {lease.Replicas} replica(s); this would be pod number {pods}" :
            cpu > total.CpuMillis ? $"the lease's pods would need {cpu}m CPU; lease {lease.Id} has {total.CpuMillis}m" :
            memory > total.MemoryMiB ? $"the lease's pods would need {memory}Mi memory; lease {lease.Id} has {total.MemoryMiB}Mi" :
            storage > total.StorageMiB ? $"the lease's pods would need {storage}Mi disk; lease {lease.Id} has {total.StorageMiB}Mi" :
            gpus > total.GpuCount ? $"the lease's pods would need {gpus} GPU(s); lease {lease.Id} has {total.GpuCount}" :
            null;
        if (problem is not null)
        {
            throw new AgentRequestException(422, problem);
        }
    }

    private async Task StartContainerAsync(PodRecord pod, ContainerRecord container, CancellationToken cancellationToken)
    {
        try
        {
            var handle = await _runtime.StartAsync(Launch(pod, container), cancellationToken).ConfigureAwait(false);
            lock (_pods)
            {
                container.Pid = handle.Pid;
                container.StartTicks = handle.StartTicks;
                container.ContainerId = handle.ContainerId;
                container.Phase = ContainerPhase.Running;
                container.Reason = "";
                container.Message = null;
                container.ExitCode = null;
                container.StartedAt = _time.GetUtcNow();
                container.RestartAt = null;

                // A new run: its probes start over, and it is neither started nor ready until they pass.
                container.Instance = Interlocked.Increment(ref _instances);
                container.Probes = null;
                container.StartupProbePassed = false;
                container.ReadinessProbePassed = false;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or HttpRequestException)
        {
            container.Phase = ContainerPhase.Waiting;
            container.Reason = "CreateContainerError";
            container.Message = e.Message;
            container.RestartAt = _time.GetUtcNow() + _options.RestartBackoff;
        }
    }

    /// <summary>What a container is started with: its spec, environment, ports, folder and limits.</summary>
    private ContainerLaunch Launch(PodRecord pod, ContainerRecord container)
    {
        var spec = pod.ParsedPod.Spec.Containers.First(c => c.Name == container.Name);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DEPIN_LEASE_ID"] = pod.LeaseId,
            ["DEPIN_POD_NAME"] = pod.Name,
            ["DEPIN_POD_UID"] = pod.Uid,
        };
        foreach (var port in spec.Ports ?? [])
        {
            var host = container.HostPorts[port.ContainerPort].ToString(CultureInfo.InvariantCulture);
            environment.TryAdd("PORT", host);
            environment[$"DEPIN_PORT_{port.ContainerPort.ToString(CultureInfo.InvariantCulture)}"] = host;
            if (port.Name is { Length: > 0 } portName)
            {
                environment[$"DEPIN_PORT_{portName.ToUpperInvariant().Replace('-', '_')}"] = host;
            }
        }

        foreach (var variable in spec.Env ?? [])
        {
            environment[variable.Name] = string.Join("", ProcessRuntime.Expand([variable.Value ?? ""], environment));
        }

        var cpu = Resource(spec, "cpu", q => (long)Math.Ceiling(q * 1000));
        var memory = Resource(spec, "memory", q => (long)Math.Ceiling(q / (1024 * 1024)));
        return new ContainerLaunch($"{pod.LeaseId}-{pod.Name}-{container.Name}", spec, environment, new Dictionary<int, int>(container.HostPorts), WorkDir(pod, container.Name), LogPath(pod, container.Name), cpu, memory);
    }

    private async Task StopContainerAsync(PodRecord pod, ContainerRecord container, CancellationToken cancellationToken)
    {
        if (container.Pid > 0 || container.ContainerId is not null)
        {
            var grace = pod.ParsedPod.Spec.TerminationGracePeriodSeconds is { } seconds
                ? TimeSpan.FromSeconds(seconds)
                : _options.TerminationGrace;
            await _runtime.StopAsync(Handle(container), grace, cancellationToken).ConfigureAwait(false);
        }

        container.Pid = 0;
        container.ContainerId = null;
        container.Phase = ContainerPhase.Waiting;
        container.Reason = "ContainerCreating";
    }

    private static long Resource(V1Container spec, string name, Func<decimal, long> convert) =>
        spec.Resources?.Limits?.TryGetValue(name, out var limit) == true ? convert(limit.ToDecimal()) : 0;

    private string PodFolder(PodRecord pod) => Path.Combine(_options.DataDir, "pods", pod.LeaseId, pod.Name);

    private string WorkDir(PodRecord pod, string container) => Path.Combine(PodFolder(pod), container);

    /// <summary>Loads leases and pods from disk, takes their capacity again, and notes which containers survived.</summary>
    private void Recover()
    {
        foreach (var lease in _store.Leases())
        {
            _leases[lease.Id] = lease;
            if (_ledger.TryReserve(LeaseHolder(lease.Id), lease.Total) is { } shortfall)
            {
                LogLeaseOverCapacity(_logger, lease.Id, shortfall);
            }
        }

        foreach (var pod in _store.Pods())
        {
            _pods[pod.Key] = pod;
            var policy = pod.ParsedPod.Spec.RestartPolicy ?? "Always";
            foreach (var container in pod.Containers.Where(c => c.Phase == ContainerPhase.Running && (c.Pid > 0 || c.ContainerId is not null)))
            {
                var probe = _runtime.ProbeAsync(Handle(container), WorkDir(pod, container.Name), LogPath(pod, container.Name), CancellationToken.None).GetAwaiter().GetResult();
                if (probe.Running)
                {
                    LogReattached(_logger, container.Name, pod.Name, pod.LeaseId, container.Pid);
                }
                else
                {
                    Exited(pod, container, probe.ExitCode, policy);
                    container.RestartAt = _time.GetUtcNow();
                }
            }

            _store.Save(pod);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "pod {Pod} of lease {Lease} created")]
    private static partial void LogPodCreated(ILogger logger, string pod, string lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "pod {Pod} of lease {Lease} deleted, its processes stopped")]
    private static partial void LogPodDeleted(ILogger logger, string pod, string lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Container} of pod {Pod} (lease {Lease}) exited with {ExitCode}; restart: {Restart}")]
    private static partial void LogContainerExited(ILogger logger, string container, string pod, string lease, int exitCode, bool restart);

    [LoggerMessage(Level = LogLevel.Information, Message = "reattached to container {Container} of pod {Pod} (lease {Lease}), process {Pid}")]
    private static partial void LogReattached(ILogger logger, string container, string pod, string lease, int pid);

    [LoggerMessage(Level = LogLevel.Error, Message = "lease {Lease} no longer fits the host: {Shortfall}")]
    private static partial void LogLeaseOverCapacity(ILogger logger, string lease, string shortfall);

    [LoggerMessage(Level = LogLevel.Error, Message = "supervising pods failed")]
    private static partial void LogSuperviseFailed(ILogger logger, Exception error);
}
