using System.Globalization;
using System.Net.Sockets;
using k8s.Models;

namespace DePin.ProviderAgent.Pods;

/// <summary>The three probes a container may have, in the order Kubernetes runs them.</summary>
internal enum ProbeKind
{
    Startup,
    Liveness,
    Readiness,
}

/// <summary>The outcome of one probe.</summary>
/// <param name="Success">Whether it passed.</param>
/// <param name="Message">What was seen, for the log and the container's status when it fails.</param>
internal sealed record ProbeResult(bool Success, string Message);

/// <summary>What a probe acts on: one run of one container, through its runtime.</summary>
internal interface IProbeTarget
{
    /// <summary>Where the container's port is reached; null when it cannot be.</summary>
    Task<System.Net.IPEndPoint?> EndpointAsync(int containerPort, int hostPort, CancellationToken cancellationToken);

    /// <summary>Runs a command in the container.</summary>
    Task<Runtime.ExecResult> ExecAsync(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>One probe of one container run: consecutive results, when it runs next, and whether it is running now.</summary>
internal sealed class ProbeCounter
{
    public int Successes { get; set; }

    public int Failures { get; set; }

    public DateTimeOffset? NextAt { get; set; }

    public bool InFlight { get; set; }

    /// <summary>For a container that outlived an agent restart: whether a result since has decided its readiness.</summary>
    public bool Decided { get; set; }
}

/// <summary>The probes of one container run. Read and written under the pod manager's lock.</summary>
internal sealed class ProbeSchedule(long instance)
{
    private readonly ProbeCounter[] _counters = [new(), new(), new()];

    /// <summary>The container run these counters belong to (<see cref="State.ContainerRecord.Instance"/>).</summary>
    public long Instance { get; } = instance;

    public ProbeCounter this[ProbeKind kind] => _counters[(int)kind];
}

/// <summary>
/// Runs a container's probes as the kubelet does (httpGet, tcpSocket, exec), with one difference that a
/// provider's safety needs: a probe goes only to an address the runtime gives for one of the container's
/// declared ports (the provider's loopback address and the published host port, or the container's own
/// address), never to a host the pod names, so a tenant cannot aim the agent at other hosts or at ports
/// that are not its own.
/// </summary>
internal sealed class ContainerProber : IDisposable
{
    /// <summary>The most of a failing probe's answer kept for its message.</summary>
    public const int MessageLimit = 1024;

    private readonly HttpClient _http;

    public ContainerProber()
    {
        var handler = new SocketsHttpHandler
        {
            // A redirect could point anywhere: like the kubelet, a redirect counts as the answer itself (3xx passes).
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            SslOptions =
            {
                // Like the kubelet, an HTTPS probe does not check the workload's certificate: it asks whether the workload answers.
#pragma warning disable CA5359 // The probe checks liveness, not identity; it sends nothing secret.
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
            },
        };
        _http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    /// <summary>The container's probe of a kind, or null.</summary>
    public static V1Probe? Of(V1Container container, ProbeKind kind) => kind switch
    {
        ProbeKind.Startup => container.StartupProbe,
        ProbeKind.Liveness => container.LivenessProbe,
        _ => container.ReadinessProbe,
    };

    public static string Name(ProbeKind kind) => kind switch
    {
        ProbeKind.Startup => "startup",
        ProbeKind.Liveness => "liveness",
        _ => "readiness",
    };

    public static TimeSpan Period(V1Probe probe) => TimeSpan.FromSeconds(probe.PeriodSeconds ?? 10);

    public static TimeSpan Timeout(V1Probe probe) => TimeSpan.FromSeconds(probe.TimeoutSeconds ?? 1);

    public static TimeSpan InitialDelay(V1Probe probe) => TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0);

    public static int SuccessThreshold(V1Probe probe) => probe.SuccessThreshold ?? 1;

    public static int FailureThreshold(V1Probe probe) => probe.FailureThreshold ?? 3;

    /// <summary>The container port a probe names, by number or by the name of one of the container's ports; null when it names none of them.</summary>
    public static int? ContainerPort(V1Container container, IntOrString? port)
    {
        ArgumentNullException.ThrowIfNull(container);
        if (port?.Value is not { Length: > 0 } value)
        {
            return null;
        }

        var ports = container.Ports ?? [];
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? ports.Any(p => p.ContainerPort == number) ? number : null
            : ports.FirstOrDefault(p => p.Name == value)?.ContainerPort;
    }

    /// <summary>How much longer than its timeout an exec may take before the probe gives up on the runtime.</summary>
    private static readonly TimeSpan RuntimeSlack = TimeSpan.FromSeconds(5);

    /// <summary>Runs one probe once. Never throws for what the workload does: every failure is a result.</summary>
    /// <param name="probe">The probe.</param>
    /// <param name="container">The container's spec, to find the probed port.</param>
    /// <param name="hostPorts">The container's published ports: container port to host port.</param>
    /// <param name="target">The container run, through its runtime.</param>
    /// <param name="cancellationToken">Stops the probe.</param>
    public async Task<ProbeResult> RunAsync(V1Probe probe, V1Container container, IReadOnlyDictionary<int, int> hostPorts, IProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(hostPorts);
        ArgumentNullException.ThrowIfNull(target);
        var timeout = Timeout(probe);
        try
        {
            if (probe.Exec is { } action)
            {
                Runtime.ExecResult result;
                using (var runtimeDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    // A runtime that hangs (a docker daemon that stopped answering) fails the probe, and the call is
                    // cancelled, rather than freezing the probe or piling calls up.
                    runtimeDeadline.CancelAfter(timeout + RuntimeSlack);
                    try
                    {
                        result = await target.ExecAsync([.. action.Command ?? []], timeout, runtimeDeadline.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        return new ProbeResult(false, string.Create(CultureInfo.InvariantCulture, $"the runtime did not run the command within {(timeout + RuntimeSlack).TotalSeconds:0.#}s"));
                    }
                }

                return result.TimedOut ? new ProbeResult(false, string.Create(CultureInfo.InvariantCulture, $"command timed out after {timeout.TotalSeconds:0.#}s"))
                    : result.ExitCode == 0 ? new ProbeResult(true, "")
                    : new ProbeResult(false, string.Create(CultureInfo.InvariantCulture, $"command exited with {result.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "an unknown code"}{(result.Output.Length > 0 ? ": " + Shorten(result.Output) : "")}"));
            }

            var port = probe.HttpGet?.Port ?? probe.TcpSocket?.Port;
            if (ContainerPort(container, port) is not { } containerPort || !hostPorts.TryGetValue(containerPort, out var hostPort))
            {
                return new ProbeResult(false, $"port {port?.Value} is not one of the container's published ports");
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                if (await target.EndpointAsync(containerPort, hostPort, deadline.Token).ConfigureAwait(false) is not { } endpoint)
                {
                    return new ProbeResult(false, "the container has no address to probe");
                }

                return probe.HttpGet is { } get
                    ? await HttpAsync(get, endpoint, deadline.Token).ConfigureAwait(false)
                    : await TcpAsync(endpoint, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new ProbeResult(false, string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#}s"));
            }
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or InvalidOperationException or UriFormatException or FormatException)
        {
            return new ProbeResult(false, Shorten(e.Message));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The URL an httpGet probe asks: always the address the runtime gave, whatever host the probe names.</summary>
    internal static Uri Url(V1HTTPGetAction get, System.Net.IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(get);
        var scheme = string.Equals(get.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        var path = get.Path is { Length: > 0 } p ? p : "/";
        if (!path.StartsWith('/'))
        {
            path = "/" + path;
        }

        var host = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://{host}:{endpoint.Port}{path}"), UriKind.Absolute);

        // A path cannot move the request elsewhere ("//host" or "@host" forms): the host and port are checked after parsing.
        return url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && System.Net.IPAddress.Parse(url.DnsSafeHost).Equals(endpoint.Address)
            && url.Port == endpoint.Port && url.UserInfo.Length == 0
            ? url
            : throw new UriFormatException($"the probe's path {get.Path} does not make a URL on the container's port");
    }

    private async Task<ProbeResult> HttpAsync(V1HTTPGetAction get, System.Net.IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(get, endpoint));

        // A fresh connection each time, as the kubelet does: a kept-alive connection would hide a listener that died.
        request.Headers.ConnectionClose = true;
        request.Headers.TryAddWithoutValidation("User-Agent", "kube-probe/depin-provider-agent");
        request.Headers.TryAddWithoutValidation("Accept", "*/*");
        foreach (var header in get.HttpHeaders ?? [])
        {
            if (string.Equals(header.Name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = header.Value;
                continue;
            }

            request.Headers.Remove(header.Name);
            if (!request.Headers.TryAddWithoutValidation(header.Name, header.Value))
            {
                return new ProbeResult(false, $"header {header.Name} cannot be sent");
            }
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        return status is >= 200 and < 400
            ? new ProbeResult(true, "")
            : new ProbeResult(false, string.Create(CultureInfo.InvariantCulture, $"HTTP probe failed with statuscode: {status}"));
    }

    private static async Task<ProbeResult> TcpAsync(System.Net.IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var client = new TcpClient(endpoint.AddressFamily);
        await client.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
        return new ProbeResult(true, "");
    }

    private static string Shorten(string text) => text.Length <= MessageLimit ? text.Trim() : text[..MessageLimit].Trim() + "…";
}
