using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DePin.ProviderAgent.Configuration;
using k8s.Models;

namespace DePin.ProviderAgent.Runtime;

/// <summary>
/// Runs each container's command and args as a host process in a session and process group of its
/// own (through <c>setsid</c>), under a small shell that appends stdout and stderr to the container's log
/// file and writes the exit code to a file. Nothing ties the process to the agent: it keeps running when
/// the agent restarts, and its exit code is known afterwards. A stop signals the whole process group.
/// This runtime isolates nothing beyond the agent's own user; use the docker runtime for untrusted
/// tenants.
/// </summary>
internal sealed class ProcessRuntime : IPodRuntime
{
    // "$@" is the command and its args, passed as positional parameters, so nothing is parsed by the shell.
    private const string Supervisor = """
        exec >>"$DEPIN_LOG_FILE" 2>&1 </dev/null
        "$@"
        code=$?
        echo "$code" > "$DEPIN_EXIT_FILE.tmp" && mv -f "$DEPIN_EXIT_FILE.tmp" "$DEPIN_EXIT_FILE"
        exit "$code"
        """;

    private readonly ConcurrentDictionary<int, Process> _children = new();
    private readonly string _setsid;
    private readonly IReadOnlyDictionary<string, string> _images;

    /// <summary>Creates the runtime.</summary>
    /// <param name="options">The agent's settings; <see cref="AgentOptions.Images"/> names the programs that stand for images.</param>
    public ProcessRuntime(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _images = options.Images;
        _setsid = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/bin")
            .Select(dir => Path.Combine(dir, "setsid"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("the process runtime needs setsid (util-linux) on the PATH");
    }

    public string Name => "process";

    public string? Validate(V1Container container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return Entrypoint(container) is null
            ? $"container {container.Name}: the process runtime runs a container's command, or the program the provider set for its image, and this container has no command and its image {container.Image} has no program here"
            : null;
    }

    // As in Kubernetes, a container's command replaces its image's entrypoint, here the program the
    // provider set for the image; args follow either.
    private IReadOnlyList<string>? Entrypoint(V1Container container) =>
        container.Command is { Count: > 0 } command ? [.. command]
        : container.Image is { } image && _images.TryGetValue(image, out var program) ? [program]
        : null;

    public Task<ContainerHandle> StartAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        Directory.CreateDirectory(launch.WorkDir);
        Directory.CreateDirectory(Path.GetDirectoryName(launch.LogPath)!);
        var exitFile = ExitFile(launch.WorkDir);
        File.Delete(exitFile);

        var start = new ProcessStartInfo(_setsid) { UseShellExecute = false, WorkingDirectory = WorkingDirectory(launch) };
        foreach (var argument in (string[])["sh", "-c", Supervisor, "sh", .. Expand(Entrypoint(launch.Container), launch.Environment), .. Expand(launch.Container.Args, launch.Environment)])
        {
            start.ArgumentList.Add(argument);
        }

        SetEnvironment(start, launch);
        start.Environment["DEPIN_LOG_FILE"] = launch.LogPath;
        start.Environment["DEPIN_EXIT_FILE"] = exitFile;

        var process = Process.Start(start) ?? throw new InvalidOperationException("setsid did not start");
        _children[process.Id] = process;
        var ticks = ProcFs.Stat(process.Id)?.StartTicks ?? 0;
        return Task.FromResult(new ContainerHandle(process.Id, ticks, null));
    }

    public Task<ContainerProbe> ProbeAsync(ContainerHandle handle, string workDir, string logPath, CancellationToken cancellationToken) =>
        Task.FromResult(Probe(handle, workDir));

    private ContainerProbe Probe(ContainerHandle handle, string workDir)
    {
        ArgumentNullException.ThrowIfNull(handle);
        bool running;
        if (_children.TryGetValue(handle.Pid, out var child))
        {
            running = !child.HasExited;
            if (!running)
            {
                _children.TryRemove(handle.Pid, out _);
                child.Dispose();
            }
        }
        else
        {
            running = ProcFs.IsAlive(handle.Pid, handle.StartTicks);
        }

        if (running)
        {
            return new ContainerProbe(true, null);
        }

        var exitFile = ExitFile(workDir);
        return new ContainerProbe(false, File.Exists(exitFile) && int.TryParse(File.ReadAllText(exitFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null);
    }

    /// <summary>A process listens on the host: its published port on the provider's loopback address.</summary>
    public Task<System.Net.IPEndPoint?> ProbeEndpointAsync(ContainerHandle handle, int containerPort, int hostPort, CancellationToken cancellationToken) =>
        Task.FromResult<System.Net.IPEndPoint?>(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, hostPort));

    /// <summary>
    /// Runs the command as a process of its own, with the container's environment and working directory
    /// (the process runtime has no more of a container to enter), in a process group that is killed when
    /// the command ends or times out, so nothing it started outlives it.
    /// </summary>
    public async Task<ExecResult> ExecAsync(ContainerHandle handle, ContainerLaunch launch, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0)
        {
            return new ExecResult(null, "the command is empty", TimedOut: false);
        }

        // The command's output goes nowhere: read through pipes, a daemon it started could hold them open
        // for ever. "$@" is the command and its args, as for containers.
        var start = new ProcessStartInfo(_setsid) { UseShellExecute = false, WorkingDirectory = WorkingDirectory(launch) };
        foreach (var argument in (string[])["sh", "-c", "exec \"$@\" </dev/null >/dev/null 2>&1", "sh", .. Expand(command, launch.Environment)])
        {
            start.ArgumentList.Add(argument);
        }

        SetEnvironment(start, launch);
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ExecResult(null, e.Message, TimedOut: false);
        }

        var ticks = ProcFs.Stat(process.Id)?.StartTicks ?? 0;
        var timedOut = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            try
            {
                deadline.CancelAfter(timeout);
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                timedOut = true;
            }
            finally
            {
                // The command's group goes, whether it ended, timed out or the agent is stopping: nothing it started stays.
                await StopAsync(new ContainerHandle(process.Id, ticks, null), TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            }
        }

        // 127 is the shell's "command not found".
        return timedOut ? new ExecResult(null, "", TimedOut: true)
            : process.ExitCode == 127 ? new ExecResult(127, $"{command[0]} was not found or could not run", TimedOut: false)
            : new ExecResult(process.ExitCode, "", TimedOut: false);
    }

    public async Task StopAsync(ContainerHandle handle, TimeSpan grace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var group = handle.Pid;
        if (!ProcFs.IsAlive(group, handle.StartTicks) && ProcFs.GroupMembers(group).Count == 0)
        {
            return;
        }

        ProcFs.SignalGroup(group, ProcFs.SigTerm);
        var deadline = Stopwatch.StartNew();
        while (ProcFs.GroupMembers(group).Count > 0 && deadline.Elapsed < grace)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        while (ProcFs.GroupMembers(group).Count > 0)
        {
            ProcFs.SignalGroup(group, ProcFs.SigKill);
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            if (deadline.Elapsed > grace + TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"process group {group} survives SIGKILL");
            }
        }

        if (_children.TryRemove(group, out var child))
        {
            await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            child.Dispose();
        }
    }

    /// <summary>Expands <c>$(NAME)</c> from the environment as Kubernetes does; <c>$$(NAME)</c> stays literal.</summary>
    internal static IEnumerable<string> Expand(IEnumerable<string>? values, IReadOnlyDictionary<string, string> environment)
    {
        foreach (var value in values ?? [])
        {
            var result = new System.Text.StringBuilder();
            for (var i = 0; i < value.Length; i++)
            {
                if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '$')
                {
                    result.Append('$');
                    i++;
                    continue;
                }

                if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '(' && value.IndexOf(')', i + 2) is var close and > 0
                    && environment.TryGetValue(value[(i + 2)..close], out var replacement))
                {
                    result.Append(replacement);
                    i = close;
                    continue;
                }

                result.Append(value[i]);
            }

            yield return result.ToString();
        }
    }

    // A clean environment: the agent's own settings (and secrets) are not the tenant's business.
    private static void SetEnvironment(ProcessStartInfo start, ContainerLaunch launch)
    {
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        start.Environment["HOME"] = launch.WorkDir;
        start.Environment["LANG"] = "C.UTF-8";
        foreach (var (name, value) in launch.Environment)
        {
            start.Environment[name] = value;
        }
    }

    private static string ExitFile(string workDir) => Path.Combine(workDir, ".exit-code");

    private static string WorkingDirectory(ContainerLaunch launch) =>
        launch.Container.WorkingDir is { Length: > 0 } dir && Path.IsPathRooted(dir) && Directory.Exists(dir) ? dir : launch.WorkDir;
}
