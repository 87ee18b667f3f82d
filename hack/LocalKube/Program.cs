using System.Globalization;
using System.Runtime.InteropServices;
using DePin.LocalKube;
using DePin.LocalKube.Simulation;

// LocalKube: a single-process Kubernetes API server for development and tests. Not a production control plane.
const string Help = """
    Usage: LocalKube [options]

    A single-process Kubernetes API server on 127.0.0.1 for development and tests. It speaks the
    Kubernetes REST and watch protocol well enough for kubectl and client libraries, keeps everything
    in memory and is NOT a production control plane. See hack/LocalKube/README.md for what it does
    not implement; notably, CRD validation rules written in CEL (x-kubernetes-validations) are not
    evaluated: the operator checks those rules itself.

    Options:
      --port N                TCP port on 127.0.0.1; 0 (the default) picks a free port
      --kubeconfig FILE       write a kubeconfig for kubectl to FILE
      --bookmark-interval S   seconds between watch bookmarks (default 1)
      --history N             changes kept for resuming watches; older ones get 410 Gone (default 100000)
      --cloud-nodes N         simulated Ready cloud nodes cloud-0..cloud-N-1 that get unbound pods
                              scheduled onto them and run them (default 0)
      --rbac                  serve HTTPS, require bearer tokens and authorize requests with RBAC from the stored
                              roles and bindings; the kubeconfig then carries an administrator token,
                              and POST .../serviceaccounts/NAME/token issues ServiceAccount tokens
      --pod-start-delay MS    milliseconds from binding to Running and Ready on a simulated node (default 500)
      -h, --help              show this help

    Fault injection (POST, for tests that run LocalKube as a process):
      /localkube/faults/close-watches              end every open watch
      /localkube/faults/compact                    make every older resourceVersion 410 Gone
      /localkube/faults/fail?count=N&code=C[&method=M][&resource=R][&body=T][&retryAfter=S]
                                                   fail the next N matching requests with status C;
                                                   R is a part of the path (pods, depindeployments/web/status),
                                                   T a text the request body contains
      /localkube/faults/clear                      drop the failures not injected yet
      /localkube/faults/latency?ms=N               add latency to every API request
    """;

int port = 0, history = 100_000, cloudNodes = 0, startDelayMs = 500;
var rbac = false;
double bookmarkSeconds = 1;
string? kubeconfig = null;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        int Number() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"{args[i - 1]} needs a whole number, not \"{args[i]}\"");
        switch (args[i])
        {
            case "--port":
                port = Number();
                break;
            case "--kubeconfig":
                kubeconfig = Value();
                break;
            case "--bookmark-interval":
                bookmarkSeconds = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : throw new FormatException($"--bookmark-interval needs a positive number of seconds, not \"{args[i]}\"");
                break;
            case "--history":
                history = Number();
                break;
            case "--cloud-nodes":
                cloudNodes = Number();
                break;
            case "--pod-start-delay":
                startDelayMs = Number();
                break;
            case "--rbac":
                rbac = true;
                break;
            case "-h" or "--help":
                Console.WriteLine(Help);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"unknown option {args[i]}\n\n{Help}");
                return 2;
        }
    }
}
catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
{
    await Console.Error.WriteLineAsync($"{e.Message}\n\n{Help}");
    return 2;
}

await using var server = await LocalKubeServer.StartAsync(new ServerOptions
{
    Port = port,
    BookmarkInterval = TimeSpan.FromSeconds(bookmarkSeconds),
    HistoryLimit = history,
    Rbac = rbac,
    CloudNodes = new CloudNodeOptions { Count = cloudNodes, StartDelay = TimeSpan.FromMilliseconds(startDelayMs) },
});
if (kubeconfig is not null)
{
    await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig());
    Console.WriteLine($"kubeconfig written to {kubeconfig}");
}

Console.WriteLine($"LocalKube serving at {server.Url}");
using var stop = new CancellationTokenSource();

// The web host also listens for these signals and cancels their default action; stop here too.
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    // Stopped by Ctrl+C or SIGTERM.
}

return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
