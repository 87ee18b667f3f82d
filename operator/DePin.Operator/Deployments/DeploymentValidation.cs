using System.Numerics;
using DePin.Api.V1Alpha1;
using DePin.Marketplace;
using k8s.Models;

namespace DePin.Operator.Deployments;

/// <summary>A spec the operator cannot act on: <see cref="Reason"/> is a CamelCase condition reason, <see cref="Message"/> starts with the field.</summary>
/// <param name="Reason">For example <c>SecretsNotAllowed</c>.</param>
/// <param name="Message">For example <c>spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef: ...</c>.</param>
internal sealed record SpecProblem(string Reason, string Message);

/// <summary>
/// The checks of a DePinDeployment that the API server cannot make: the CEL rules of the CRD (which
/// some API servers do not evaluate), what provider agents can run, the Secrets rule, and amounts
/// against the payment token's precision. Every problem names the field to change.
/// </summary>
internal static class DeploymentValidation
{
    /// <summary>Field paths of the downward API that are resolved before a pod is sent to a provider.</summary>
    public static readonly IReadOnlySet<string> SupportedFieldPaths = new HashSet<string>(StringComparer.Ordinal)
    {
        "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.podIP",
    };

    /// <summary>The first problem of a spec, or null when it can be acted on.</summary>
    public static SpecProblem? Check(DePinDeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return CheckCelRules(spec) ?? CheckTemplate(spec.Template, spec.Placement?.AllowSecrets == true);
    }

    /// <summary>The amounts of a spec in the payment token's units, or the problem with them.</summary>
    public static (BigInteger MaxPricePerHour, BigInteger? MaxSpendPerDay, SpecProblem? Problem) Amounts(DePinDeploymentSpec spec, int decimals)
    {
        ArgumentNullException.ThrowIfNull(spec);
        BigInteger price;
        try
        {
            price = TokenAmount.Parse(spec.Bidding.MaxPricePerHour, decimals);
        }
        catch (FormatException e)
        {
            return (default, null, new SpecProblem("InvalidAmount", $"spec.bidding.maxPricePerHour: {e.Message}"));
        }

        if (price.IsZero)
        {
            return (default, null, new SpecProblem("InvalidAmount", "spec.bidding.maxPricePerHour must be above zero"));
        }

        if (spec.Bidding.Budget?.MaxSpendPerDay is not { } budgetText)
        {
            return (price, null, null);
        }

        try
        {
            var budget = TokenAmount.Parse(budgetText, decimals);
            return budget.IsZero
                ? (default, null, new SpecProblem("InvalidAmount", "spec.bidding.budget.maxSpendPerDay must be above zero"))
                : (price, budget, null);
        }
        catch (FormatException e)
        {
            return (default, null, new SpecProblem("InvalidAmount", $"spec.bidding.budget.maxSpendPerDay: {e.Message}"));
        }
    }

    private static SpecProblem? CheckCelRules(DePinDeploymentSpec spec)
    {
        if (spec.Bidding.AutoTopUp && spec.Bidding.Budget is null)
        {
            return new SpecProblem("InvalidSpec", "spec.bidding.autoTopUp: requires bidding.budget.maxSpendPerDay, so that top-ups are bounded");
        }

        if (spec.Sla?.Probe is { } probe)
        {
            if ((probe.HttpGet is null) == (probe.TcpSocket is null))
            {
                return new SpecProblem("InvalidSpec", "spec.sla.probe: exactly one of httpGet and tcpSocket must be set");
            }

            if (probe.TimeoutSeconds > probe.PeriodSeconds)
            {
                return new SpecProblem("InvalidSpec", $"spec.sla.probe.timeoutSeconds ({probe.TimeoutSeconds}) must not exceed periodSeconds ({probe.PeriodSeconds})");
            }
        }

        if (spec.Fallback is { Enabled: false, Failback.Enabled: true })
        {
            return new SpecProblem("InvalidSpec", "spec.fallback.failback.enabled: requires fallback.enabled");
        }

        return null;
    }

    /// <summary>The longest termination grace a provider's agent accepts (its own limit).</summary>
    private const long MaxTerminationGraceSeconds = 600;

    /// <summary>The longest probe timeout a provider's agent accepts (its own limit).</summary>
    private const long MaxProbeTimeoutSeconds = 3600;

    /// <summary>The longest probe period and initial delay a provider's agent accepts (its own limit).</summary>
    private const long MaxProbeSeconds = 86_400;

    /// <summary>The most results in a row a provider's agent lets a probe need (its own limit).</summary>
    private const long MaxProbeThreshold = 10_000;

    private static SpecProblem? CheckTemplate(V1PodTemplateSpec template, bool allowSecrets)
    {
        foreach (var label in template.Metadata?.Labels?.Keys ?? [])
        {
            if (label.StartsWith("depin.dev/", StringComparison.Ordinal))
            {
                return new SpecProblem("ReservedLabel", $"spec.template.metadata.labels: {label} uses the depin.dev/ prefix, which the operator sets itself");
            }
        }

        var spec = template.Spec;
        if (spec?.Containers is not { Count: > 0 })
        {
            return new SpecProblem("InvalidSpec", "spec.template.spec.containers must hold at least one container");
        }

        if (spec.InitContainers is { Count: > 0 })
        {
            return new SpecProblem("UnsupportedField", "spec.template.spec.initContainers: provider agents do not run init containers");
        }

        if (spec.ImagePullSecrets is { Count: > 0 } && !allowSecrets)
        {
            return new SpecProblem("SecretsNotAllowed", "spec.template.spec.imagePullSecrets: Secrets are not sent to providers unless placement.allowSecrets is true");
        }

        if (spec.TerminationGracePeriodSeconds > MaxTerminationGraceSeconds)
        {
            return new SpecProblem("UnsupportedField", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"spec.template.spec.terminationGracePeriodSeconds: provider agents give a container at most {MaxTerminationGraceSeconds} s to stop"));
        }

        var volumes = spec.Volumes ?? [];
        for (var i = 0; i < volumes.Count; i++)
        {
            var volume = volumes[i];
            var path = $"spec.template.spec.volumes[{i}]";
            if (volume.Secret is not null || volume.Projected?.Sources?.Any(s => s.Secret is not null) == true)
            {
                return allowSecrets
                    ? new SpecProblem("UnsupportedVolume", $"{path} ({volume.Name}): provider agents take emptyDir volumes only; pass Secret data as environment variables")
                    : new SpecProblem("SecretsNotAllowed", $"{path} ({volume.Name}): Secrets are not sent to providers unless placement.allowSecrets is true");
            }

            if (volume.Projected?.Sources?.Any(s => s.ServiceAccountToken is not null) == true)
            {
                return new SpecProblem("UnsupportedVolume", $"{path} ({volume.Name}): service-account tokens are never sent to providers");
            }

            if (volume.EmptyDir is null)
            {
                return new SpecProblem("UnsupportedVolume", $"{path} ({volume.Name}): provider agents take emptyDir volumes only; pass ConfigMap data as environment variables, which the operator resolves");
            }
        }

        for (var c = 0; c < spec.Containers.Count; c++)
        {
            var container = spec.Containers[c];
            var path = $"spec.template.spec.containers[{c}]";
            var env = container.Env ?? [];
            for (var e = 0; e < env.Count; e++)
            {
                var source = env[e].ValueFrom;
                var field = $"{path}.env[{e}] ({env[e].Name})";
                if (source?.SecretKeyRef is not null && !allowSecrets)
                {
                    return new SpecProblem("SecretsNotAllowed", $"{field}.valueFrom.secretKeyRef: Secrets are not sent to providers unless placement.allowSecrets is true");
                }

                if (source?.FieldRef is { } fieldRef && !SupportedFieldPaths.Contains(fieldRef.FieldPath) && !IsLabelOrAnnotation(fieldRef.FieldPath))
                {
                    return new SpecProblem("UnsupportedField", $"{field}.valueFrom.fieldRef.fieldPath: {fieldRef.FieldPath} cannot be resolved for a provider; use one of {string.Join(", ", SupportedFieldPaths)}, metadata.labels['...'] or metadata.annotations['...']");
                }

                if (source?.ResourceFieldRef is { } resource && resource.Resource is not ("requests.cpu" or "limits.cpu" or "requests.memory" or "limits.memory"))
                {
                    return new SpecProblem("UnsupportedField", $"{field}.valueFrom.resourceFieldRef.resource: {resource.Resource} cannot be resolved for a provider");
                }
            }

            foreach (var (field, probe) in new[] { ("startupProbe", container.StartupProbe), ("livenessProbe", container.LivenessProbe), ("readinessProbe", container.ReadinessProbe) })
            {
                if (probe?.Grpc is not null)
                {
                    return new SpecProblem("UnsupportedField", $"{path}.{field}.grpc: provider agents run httpGet, tcpSocket and exec probes, not grpc");
                }

                if (probe?.TerminationGracePeriodSeconds > MaxTerminationGraceSeconds)
                {
                    return new SpecProblem("UnsupportedField", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}.{field}.terminationGracePeriodSeconds: provider agents give a container at most {MaxTerminationGraceSeconds} s to stop"));
                }

                if (probe?.TimeoutSeconds > MaxProbeTimeoutSeconds)
                {
                    return new SpecProblem("UnsupportedField", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}.{field}.timeoutSeconds: provider agents let a probe run at most {MaxProbeTimeoutSeconds} s"));
                }

                foreach (var (setting, value, maximum) in new (string, int?, long)[] { ("periodSeconds", probe?.PeriodSeconds, MaxProbeSeconds), ("initialDelaySeconds", probe?.InitialDelaySeconds, MaxProbeSeconds), ("successThreshold", probe?.SuccessThreshold, MaxProbeThreshold), ("failureThreshold", probe?.FailureThreshold, MaxProbeThreshold) })
                {
                    if (value > maximum)
                    {
                        return new SpecProblem("UnsupportedField", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}.{field}.{setting}: provider agents take at most {maximum}"));
                    }
                }

                // An agent reaches a container only through the ports it declares, as they are published on the provider's host.
                var (handler, port) = probe?.HttpGet is { } get ? ("httpGet", get.Port) : probe?.TcpSocket is { } tcp ? ("tcpSocket", tcp.Port) : (null, null);
                if (handler is not null && !DeclaresPort(container, port))
                {
                    return new SpecProblem("UnsupportedField", $"{path}.{field}.{handler}.port: {port?.Value} is not one of the container's ports; a provider's agent probes a container only through a port it declares");
                }
            }

            var envFrom = container.EnvFrom ?? [];
            for (var e = 0; e < envFrom.Count; e++)
            {
                if (envFrom[e].SecretRef is not null && !allowSecrets)
                {
                    return new SpecProblem("SecretsNotAllowed", $"{path}.envFrom[{e}].secretRef: Secrets are not sent to providers unless placement.allowSecrets is true");
                }
            }
        }

        return null;
    }

    private static bool DeclaresPort(V1Container container, IntOrString? port) =>
        port?.Value is { Length: > 0 } value && (container.Ports ?? []).Any(p =>
            int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) ? p.ContainerPort == number : p.Name == value);

    private static bool IsLabelOrAnnotation(string path) =>
        (path.StartsWith("metadata.labels['", StringComparison.Ordinal) || path.StartsWith("metadata.annotations['", StringComparison.Ordinal)) && path.EndsWith("']", StringComparison.Ordinal);
}
