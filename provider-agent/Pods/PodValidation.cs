using System.Globalization;
using System.Text.RegularExpressions;
using DePin.ProviderAgent.Capacity;
using k8s.Models;

namespace DePin.ProviderAgent.Pods;

/// <summary>A request the agent refuses, with the HTTP status and a message saying what was wrong.</summary>
internal sealed class AgentRequestException : Exception
{
    public AgentRequestException()
    {
    }

    public AgentRequestException(string message)
        : base(message)
    {
    }

    public AgentRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AgentRequestException(int status, string message)
        : base(message) => Status = status;

    public int Status { get; } = 400;
}

/// <summary>Checks a pod before anything of it runs, and sums what it needs.</summary>
internal static partial class PodValidation
{
    /// <summary>The longest a container may take to stop: a pod cannot hold its own deletion longer.</summary>
    public const long MaxTerminationGraceSeconds = 600;

    /// <summary>The longest probe period and initial delay: a day.</summary>
    public const long MaxProbeSeconds = 86_400;

    /// <summary>The longest one probe may run.</summary>
    public const long MaxProbeTimeoutSeconds = 3600;

    /// <summary>The most results in a row a probe may need.</summary>
    public const long MaxProbeThreshold = 10_000;

    public static void CheckName(string what, string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 63 || !DnsLabel().IsMatch(name))
        {
            throw new AgentRequestException(400, $"{what} \"{name}\" must be a DNS label: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
        }
    }

    /// <summary>Validates a pod and returns the resources it requests in total.</summary>
    public static ResourceRequest Validate(V1Pod pod, string expectedName, Func<V1Container, string?> runtimeCheck)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(runtimeCheck);
        CheckName("metadata.name", pod.Metadata?.Name);
        if (pod.Metadata!.Name != expectedName)
        {
            throw new AgentRequestException(400, $"metadata.name \"{pod.Metadata.Name}\" differs from the name in the path, \"{expectedName}\"");
        }

        var containers = pod.Spec?.Containers;
        if (containers is null or { Count: 0 })
        {
            throw new AgentRequestException(400, "spec.containers must hold at least one container");
        }

        if (pod.Spec!.InitContainers is { Count: > 0 })
        {
            throw new AgentRequestException(400, "spec.initContainers are not supported by this agent");
        }

        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (volume.EmptyDir is null)
            {
                throw new AgentRequestException(400, $"spec.volumes[{volume.Name}]: only emptyDir volumes are supported; the operator resolves ConfigMaps into the pod and never ships Secrets unless allowed");
            }
        }

        if (pod.Spec.TerminationGracePeriodSeconds is < 0 or > MaxTerminationGraceSeconds)
        {
            throw new AgentRequestException(400, string.Create(CultureInfo.InvariantCulture, $"spec.terminationGracePeriodSeconds is {pod.Spec.TerminationGracePeriodSeconds}; it must be from 0 to {MaxTerminationGraceSeconds}"));
        }

        if (pod.Spec.RestartPolicy is { } policy && policy is not ("Always" or "OnFailure" or "Never"))
        {
            throw new AgentRequestException(400, $"spec.restartPolicy \"{policy}\" is not Always, OnFailure or Never");
        }

        long cpu = 0, memory = 0, storage = 0;
        var gpus = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hostPorts = new HashSet<int>();
        for (var i = 0; i < containers.Count; i++)
        {
            var container = containers[i];
            var path = $"spec.containers[{i}]";
            CheckName(path + ".name", container.Name);
            if (!names.Add(container.Name))
            {
                throw new AgentRequestException(400, $"{path}.name \"{container.Name}\" is used twice");
            }

            if (runtimeCheck(container) is { } refusal)
            {
                throw new AgentRequestException(400, refusal);
            }

            foreach (var variable in container.Env ?? [])
            {
                if (variable.ValueFrom is not null)
                {
                    throw new AgentRequestException(400, $"{path}.env[{variable.Name}]: valueFrom is not accepted; the operator sends plain values");
                }
            }

            foreach (var kind in (ProbeKind[])[ProbeKind.Startup, ProbeKind.Liveness, ProbeKind.Readiness])
            {
                if (ContainerProber.Of(container, kind) is { } probe)
                {
                    CheckProbe($"{path}.{ContainerProber.Name(kind)}Probe", container, probe, kind);
                }
            }

            foreach (var port in container.Ports ?? [])
            {
                if (port.ContainerPort is < 1 or > 65535)
                {
                    throw new AgentRequestException(400, $"{path}.ports: containerPort {port.ContainerPort} is not between 1 and 65535");
                }

                if (!hostPorts.Add(port.ContainerPort))
                {
                    throw new AgentRequestException(400, $"{path}.ports: containerPort {port.ContainerPort} is declared twice in the pod");
                }
            }

            var requests = container.Resources?.Requests;
            var limits = container.Resources?.Limits;
            cpu += Quantity(path, "cpu", requests, limits, q => (long)Math.Ceiling(q * 1000));
            memory += Quantity(path, "memory", requests, limits, q => (long)Math.Ceiling(q / (1024 * 1024)));
            storage += Quantity(path, "ephemeral-storage", requests, limits, q => (long)Math.Ceiling(q / (1024 * 1024)));
            gpus += (int)Quantity(path, "nvidia.com/gpu", requests, limits, q => (long)q);
        }

        return new ResourceRequest(cpu, memory, storage, gpus);
    }

    private static void CheckProbe(string path, V1Container container, V1Probe probe, ProbeKind kind)
    {
        if (probe.Grpc is not null)
        {
            throw new AgentRequestException(400, $"{path}.grpc: grpc probes are not supported by this agent; use httpGet, tcpSocket or exec");
        }

        var handlers = (probe.Exec is null ? 0 : 1) + (probe.HttpGet is null ? 0 : 1) + (probe.TcpSocket is null ? 0 : 1);
        if (handlers != 1)
        {
            throw new AgentRequestException(400, $"{path} must have exactly one of exec, httpGet and tcpSocket");
        }

        // Bounded above too: the agent holds timers, processes and a pod's stop for these long.
        foreach (var (field, value, minimum, maximum) in new (string, long?, long, long)[]
        {
            ("initialDelaySeconds", probe.InitialDelaySeconds, 0, MaxProbeSeconds),
            ("periodSeconds", probe.PeriodSeconds, 1, MaxProbeSeconds),
            ("timeoutSeconds", probe.TimeoutSeconds, 1, MaxProbeTimeoutSeconds),
            ("successThreshold", probe.SuccessThreshold, 1, MaxProbeThreshold),
            ("failureThreshold", probe.FailureThreshold, 1, MaxProbeThreshold),
            ("terminationGracePeriodSeconds", probe.TerminationGracePeriodSeconds, 1, MaxTerminationGraceSeconds),
        })
        {
            if (value < minimum || value > maximum)
            {
                throw new AgentRequestException(400, string.Create(CultureInfo.InvariantCulture, $"{path}.{field} is {value}; it must be from {minimum} to {maximum}"));
            }
        }

        if (kind != ProbeKind.Readiness && probe.SuccessThreshold is { } threshold && threshold != 1)
        {
            throw new AgentRequestException(400, string.Create(CultureInfo.InvariantCulture, $"{path}.successThreshold is {threshold}; it must be 1 for {ContainerProber.Name(kind)} probes"));
        }

        if (probe.Exec is { } exec)
        {
            if (exec.Command is not { Count: > 0 })
            {
                throw new AgentRequestException(400, $"{path}.exec.command must name a command");
            }

            return;
        }

        var (handler, port) = probe.HttpGet is { } get ? ("httpGet", get.Port) : ("tcpSocket", probe.TcpSocket!.Port);
        if (ContainerProber.ContainerPort(container, port) is null)
        {
            throw new AgentRequestException(400, $"{path}.{handler}.port \"{port?.Value}\" is not one of the container's ports; a probe reaches a container only through a port it declares");
        }

        if (probe.HttpGet is not { } http)
        {
            return;
        }

        if (http.Scheme is { } scheme && scheme is not ("HTTP" or "HTTPS"))
        {
            throw new AgentRequestException(400, $"{path}.httpGet.scheme \"{scheme}\" is not HTTP or HTTPS");
        }

        try
        {
            ContainerProber.Url(http, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1));
        }
        catch (UriFormatException)
        {
            throw new AgentRequestException(400, $"{path}.httpGet.path \"{http.Path}\" is not a path on the container's port");
        }

        foreach (var header in http.HttpHeaders ?? [])
        {
            if (header.Name is null || !HeaderName().IsMatch(header.Name) || (header.Value ?? "").AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                throw new AgentRequestException(400, $"{path}.httpGet.httpHeaders: \"{header.Name}\" is not a valid HTTP header");
            }
        }
    }

    private static long Quantity(string path, string name, IDictionary<string, ResourceQuantity>? requests, IDictionary<string, ResourceQuantity>? limits, Func<decimal, long> convert)
    {
        long result = 0;
        foreach (var (kind, values) in new[] { ("limits", limits), ("requests", requests) })
        {
            if (values is null || !values.TryGetValue(name, out var quantity))
            {
                continue;
            }

            decimal value;
            try
            {
                value = quantity.ToDecimal();
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new AgentRequestException(400, $"{path}.resources.{kind}.{name}: \"{quantity}\" is not a quantity");
            }

            if (value < 0)
            {
                throw new AgentRequestException(400, string.Create(CultureInfo.InvariantCulture, $"{path}.resources.{kind}.{name} is negative ({quantity})"));
            }

            // Requests decide the size when given; limits otherwise.
            result = convert(value);
        }

        return result;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HeaderName();
}
