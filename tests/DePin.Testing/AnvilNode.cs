using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace DePin.Testing;

/// <summary>
/// A real Ethereum node for tests: anvil from the npm package that <c>make tools</c> installs, on a
/// loopback port chosen at run time, with automine. Its ten funded accounts and their keys are read from
/// its own start-up output. Disposing stops it with SIGTERM, so that a <c>--state</c> file is written.
/// </summary>
public sealed partial class AnvilNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _drain;

    private AnvilNode(Process process, int port, IReadOnlyList<string> privateKeys, Task drain)
    {
        _process = process;
        Port = port;
        PrivateKeys = privateKeys;
        _drain = drain;
    }

    /// <summary>The anvil executable, or null when the tools are not installed.</summary>
    public static string? Executable { get; } = FindExecutable();

    /// <summary>Why anvil tests cannot run here, or null when they can.</summary>
    public static string? MissingReason => Executable is null ? "anvil is not installed: run 'make tools' (hack/tools/bin/anvil)" : null;

    /// <summary>The JSON-RPC port.</summary>
    public int Port { get; }

    /// <summary>The JSON-RPC endpoint.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The private keys of anvil's funded and unlocked accounts, as hex.</summary>
    public IReadOnlyList<string> PrivateKeys { get; }

    /// <summary>Whether the process is still running.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Starts anvil and waits until it listens.</summary>
    /// <param name="statePath">A file to load state from and save it to on exit, or null.</param>
    /// <param name="port">The port, or null for a free one.</param>
    /// <param name="extraArguments">More anvil arguments.</param>
    /// <returns>The running node.</returns>
    public static async Task<AnvilNode> StartAsync(string? statePath = null, int? port = null, params string[] extraArguments)
    {
        var executable = Executable ?? throw new InvalidOperationException(MissingReason);
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port ?? FreePort();
            var start = new ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in (string[])["--host", "127.0.0.1", "--port", chosen.ToString(CultureInfo.InvariantCulture), .. extraArguments])
            {
                start.ArgumentList.Add(argument);
            }

            if (statePath is not null)
            {
                start.ArgumentList.Add("--state");
                start.ArgumentList.Add(statePath);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("anvil did not start");
            var keys = new List<string>();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var listening = false;
            try
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    if (KeyLine().Match(line) is { Success: true } key)
                    {
                        keys.Add(key.Groups[1].Value);
                    }

                    if (line.StartsWith("Listening on", StringComparison.Ordinal))
                    {
                        listening = true;
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            if (listening)
            {
                var drain = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                return new AnvilNode(process, chosen, keys, drain);
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync().ConfigureAwait(false);
            var error = await stderr.ConfigureAwait(false);
            process.Dispose();
            if (attempt >= 2 || port is not null)
            {
                throw new InvalidOperationException($"anvil did not start on port {chosen}: {error}");
            }
        }
    }

    /// <summary>Kills anvil at once, without saving state, as a crash would.</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>Stops anvil with SIGTERM, which makes it save its <c>--state</c> file, and waits for it.</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            await _drain.ConfigureAwait(false);
        }
        catch (IOException)
        {
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExecutable()
    {
        var local = RepositoryPaths.Of("hack", "tools", "bin", "anvil");
        if (File.Exists(local))
        {
            return local;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "anvil"))
            .FirstOrDefault(File.Exists);
    }

    [GeneratedRegex(@"^\(\d+\) (0x[0-9a-fA-F]{64})$")]
    private static partial Regex KeyLine();
}
