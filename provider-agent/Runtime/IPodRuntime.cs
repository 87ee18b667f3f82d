using k8s.Models;

namespace DePin.ProviderAgent.Runtime;

/// <summary>What a runtime needs to start one container.</summary>
/// <param name="Key">A name unique to this container (lease, pod and container).</param>
/// <param name="Container">The container spec.</param>
/// <param name="Environment">Its environment, ports and pod identity included.</param>
/// <param name="HostPorts">Container port to host port.</param>
/// <param name="WorkDir">A folder of its own.</param>
/// <param name="LogPath">Where its stdout and stderr go.</param>
/// <param name="CpuMillis">Its CPU limit, 0 for none.</param>
/// <param name="MemoryMiB">Its memory limit, 0 for none.</param>
internal sealed record ContainerLaunch(string Key, V1Container Container, IReadOnlyDictionary<string, string> Environment, IReadOnlyDictionary<int, int> HostPorts, string WorkDir, string LogPath, long CpuMillis, long MemoryMiB);

/// <summary>A started container.</summary>
/// <param name="Pid">The process (process runtime), 0 otherwise.</param>
/// <param name="StartTicks">The process's start time, to tell a reused PID apart.</param>
/// <param name="ContainerId">The container id (docker), or null.</param>
internal sealed record ContainerHandle(int Pid, long StartTicks, string? ContainerId);

/// <summary>What a running container is doing now.</summary>
/// <param name="Running">Still running.</param>
/// <param name="ExitCode">Its exit code once it ended, null if unknown.</param>
internal sealed record ContainerProbe(bool Running, int? ExitCode);

/// <summary>How a command run in a container ended.</summary>
/// <param name="ExitCode">Its exit code, null if unknown.</param>
/// <param name="Output">The start of what it printed, where the runtime returns it.</param>
/// <param name="TimedOut">It did not end in time (and was killed where the runtime can).</param>
internal sealed record ExecResult(int? ExitCode, string Output, bool TimedOut);

/// <summary>Runs containers: the interface every runtime implements.</summary>
internal interface IPodRuntime
{
    /// <summary>The runtime's name, as the configuration names it.</summary>
    string Name { get; }

    /// <summary>Refuses containers this runtime cannot run, with the reason.</summary>
    string? Validate(V1Container container);

    /// <summary>Starts a container.</summary>
    Task<ContainerHandle> StartAsync(ContainerLaunch launch, CancellationToken cancellationToken);

    /// <summary>Whether a container still runs, and its exit code if not; works for containers started before an agent restart.</summary>
    Task<ContainerProbe> ProbeAsync(ContainerHandle handle, string workDir, string logPath, CancellationToken cancellationToken);

    /// <summary>
    /// Where a probe reaches a container's port: an address the runtime knows (the provider's loopback and
    /// the published host port, or the container's own address), never one the pod names.
    /// </summary>
    /// <returns>The address, or null when the container has none (it is not running).</returns>
    Task<System.Net.IPEndPoint?> ProbeEndpointAsync(ContainerHandle handle, int containerPort, int hostPort, CancellationToken cancellationToken);

    /// <summary>Runs a command in a running container, as an exec probe does, and waits for it up to a timeout.</summary>
    /// <param name="handle">The container.</param>
    /// <param name="launch">What the container was started with (its environment and working directory).</param>
    /// <param name="command">The command and its arguments; no shell parses them.</param>
    /// <param name="timeout">How long the command may run.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    Task<ExecResult> ExecAsync(ContainerHandle handle, ContainerLaunch launch, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Stops a container and everything it started: SIGTERM, then SIGKILL after the grace period.</summary>
    Task StopAsync(ContainerHandle handle, TimeSpan grace, CancellationToken cancellationToken);
}
