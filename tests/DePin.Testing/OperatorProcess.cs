using System.Diagnostics;
using System.Globalization;

namespace DePin.Testing;

/// <summary>The depin-operator executable as a real process against a kubeconfig; killed with SIGKILL on dispose.</summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ProcessOutput _output;

    private OperatorProcess(Process process, ProcessOutput output, int port)
    {
        _process = process;
        _output = output;
        Port = port;
    }

    /// <summary>The built operator.</summary>
    public static string OperatorDll { get; } = RepositoryPaths.Of("operator", "DePin.Operator", "bin", AgentProcess.Configuration, "net10.0", "depin-operator.dll");

    /// <summary>Port of /healthz, /readyz and /metrics.</summary>
    public int Port { get; }

    /// <summary>The process id, for reading its memory from /proc.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the operator wrote so far.</summary>
    public string Output => _output.Text;

    /// <summary>Starts the operator and waits until it is ready.</summary>
    /// <param name="kubeconfig">Path of the kubeconfig.</param>
    /// <param name="extra">More arguments.</param>
    /// <returns>The running operator.</returns>
    public static async Task<OperatorProcess> StartAsync(string kubeconfig, params string[] extra)
    {
        var running = Launch(kubeconfig, extra);
        var process = running._process;
        var port = running.Port;
        try
        {
            using var http = new HttpClient();
            await Eventually.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the operator exited with {process.ExitCode}: {running.Output}");
                }

                try
                {
                    return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/readyz")).ConfigureAwait(false) is "ok" or "ok: leading" or "ok: standby";
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch
        {
            await running.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return running;
    }

    /// <summary>Starts the operator without waiting for it to become ready.</summary>
    /// <param name="kubeconfig">Path of the kubeconfig.</param>
    /// <param name="extra">More arguments.</param>
    /// <returns>The process.</returns>
    public static OperatorProcess Launch(string kubeconfig, params string[] extra)
    {
        var port = AgentProcess.FreePort();
        var start = new ProcessStartInfo("dotnet");
        foreach (var argument in new[] { OperatorDll, "--listen", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}" }.Concat(extra))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["KUBECONFIG"] = kubeconfig;
        var (process, output) = ProcessOutput.Start(start);
        return new OperatorProcess(process, output, port);
    }

    /// <summary>Kills the operator at once (SIGKILL), as a crash would.</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
