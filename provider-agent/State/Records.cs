using System.Text.Json.Serialization;
using DePin.ProviderAgent.Capacity;
using k8s;
using k8s.Models;

namespace DePin.ProviderAgent.State;

/// <summary>A lease this agent serves.</summary>
internal sealed record LeaseRecord
{
    public required string Id { get; init; }

    /// <summary>The tenant's address (evm mode); requests on the lease must be signed by it.</summary>
    public string? Tenant { get; init; }

    public required long Replicas { get; init; }

    public required ResourceRequest PerReplica { get; init; }

    public string? OrderId { get; init; }

    /// <summary>The agreed price per replica and hour, in token units, as text.</summary>
    public string? PricePerHour { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Total resources of the lease: what its pods may use together.</summary>
    [JsonIgnore]
    public ResourceRequest Total => PerReplica.Times(Replicas);
}

/// <summary>The state of one container, in the shape of a Kubernetes container status.</summary>
internal enum ContainerPhase
{
    Waiting,
    Running,
    Terminated,
}

/// <summary>A container of a pod, with its runtime handle.</summary>
internal sealed record ContainerRecord
{
    public required string Name { get; init; }

    public ContainerPhase Phase { get; set; } = ContainerPhase.Waiting;

    public string Reason { get; set; } = "ContainerCreating";

    public string? Message { get; set; }

    /// <summary>The supervisor process (process runtime) or container id (docker).</summary>
    public int Pid { get; set; }

    /// <summary>Start time of the process in clock ticks since boot (/proc/PID/stat field 22), to tell a reused PID apart.</summary>
    public long StartTicks { get; set; }

    public string? ContainerId { get; set; }

    public int RestartCount { get; set; }

    public int? ExitCode { get; set; }

    public int? LastExitCode { get; set; }

    /// <summary>Why the last run ended, when the agent ended it (a failed probe), or null.</summary>
    public string? LastMessage { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>When a crashed container may start again (restart back-off).</summary>
    public DateTimeOffset? RestartAt { get; set; }

    /// <summary>Container port to host port.</summary>
    public Dictionary<int, int> HostPorts { get; init; } = [];

    /// <summary>Whether the container's startup probe passed since it last started (a container without one has started once it runs).</summary>
    public bool StartupProbePassed { get; set; }

    /// <summary>The container's readiness probe result since it last started: false until it passes (a container without one is ready once started).</summary>
    public bool ReadinessProbePassed { get; set; }

    /// <summary>Counts the container's starts in this agent process, so that a probe result for an earlier run of it is dropped.</summary>
    [JsonIgnore]
    public long Instance { get; set; }

    /// <summary>The probes' counters and schedule for the container's current run; not kept across agent restarts.</summary>
    [JsonIgnore]
    public Pods.ProbeSchedule? Probes { get; set; }
}

/// <summary>A pod of a lease: the spec as the tenant sent it, and the state of its containers.</summary>
internal sealed record PodRecord
{
    public required string LeaseId { get; init; }

    public required string Name { get; init; }

    public required string Uid { get; init; }

    private V1Pod? _pod;

    /// <summary>The pod as JSON (a Kubernetes v1 Pod without status), as stored.</summary>
    public required string PodJson
    {
        get;
        set
        {
            field = value;
            _pod = null;
        }
    }

    /// <summary>
    /// The pod parsed once per change of <see cref="PodJson"/>, since supervision reads it every round.
    /// Read only: output that changes the pod starts from a fresh parse of <see cref="PodJson"/>.
    /// </summary>
    [JsonIgnore]
    public V1Pod ParsedPod => _pod ??= KubernetesJson.Deserialize<V1Pod>(PodJson);

    public required ResourceRequest Resources { get; set; }

    public List<ContainerRecord> Containers { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Whether the pod was Ready when last rendered.</summary>
    public bool Ready { get; set; }

    /// <summary>When <see cref="Ready"/> last changed: the Ready condition's lastTransitionTime, kept across renders and restarts.</summary>
    public DateTimeOffset? ReadySince { get; set; }

    /// <summary>Whether <see cref="ReadySince"/> changed since the record was last saved.</summary>
    [JsonIgnore]
    public bool ReadyUnsaved { get; set; }

    /// <summary>Whether a probe result changed the record since it was last saved.</summary>
    [JsonIgnore]
    public bool ProbeUnsaved { get; set; }

    public bool Deleting { get; set; }

    [JsonIgnore]
    public string Key => Keys.Pod(LeaseId, Name);
}

internal static class Keys
{
    public static string Pod(string leaseId, string name) => leaseId + "/" + name;
}
