using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DePin.Operator.Deployments;

/// <summary>A pod that cannot be sent to its provider as it stands; the message names the field.</summary>
internal sealed class PodConversionException : Exception
{
    public PodConversionException()
    {
    }

    public PodConversionException(string message)
        : base(message)
    {
    }

    public PodConversionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Reads the ConfigMaps and Secrets that environment variables refer to.</summary>
internal interface IEnvironmentSource
{
    /// <summary>The data of a ConfigMap, or null when it does not exist.</summary>
    Task<IReadOnlyDictionary<string, string>?> ConfigMapAsync(string ns, string name, CancellationToken cancellationToken);

    /// <summary>The data of a Secret, decoded, or null when it does not exist.</summary>
    Task<IReadOnlyDictionary<string, string>?> SecretAsync(string ns, string name, CancellationToken cancellationToken);
}

/// <summary>Reads ConfigMaps and Secrets from the API server when a pod is sent, so the provider gets the values of that moment.</summary>
internal sealed class ApiEnvironmentSource(IKubernetes kubernetes) : IEnvironmentSource
{
    public async Task<IReadOnlyDictionary<string, string>?> ConfigMapAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var map = await kubernetes.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new Dictionary<string, string>(map.Data ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyDictionary<string, string>?> SecretAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await kubernetes.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (secret.Data ?? new Dictionary<string, byte[]>()).ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value), StringComparer.Ordinal);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}

/// <summary>
/// Turns a pod bound to a virtual node into what the provider's agent runs. Environment variables from
/// ConfigMaps, the downward API and (only with <c>placement.allowSecrets</c>) Secrets are resolved to
/// plain values here, because the provider cannot read the cluster. Service-account tokens, image pull
/// Secrets, scheduling fields and everything else the provider has no use for are left out.
/// </summary>
internal static class RemotePods
{
    public static async Task<JsonObject> ConvertAsync(V1Pod pod, bool allowSecrets, string providerHost, IEnvironmentSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(source);
        var ns = pod.Metadata.NamespaceProperty;
        var kept = new HashSet<string>(StringComparer.Ordinal);
        var volumes = new JsonArray();
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (volume.EmptyDir is not null)
            {
                kept.Add(volume.Name);
                volumes.Add(new JsonObject { ["name"] = volume.Name, ["emptyDir"] = JsonNode.Parse(KubernetesJson.Serialize(volume.EmptyDir)) });
            }
            else if (volume.Projected?.Sources?.Any(s => s.ServiceAccountToken is not null) != true)
            {
                // Service-account token volumes that a real API server's admission adds are dropped quietly; anything else is refused.
                throw new PodConversionException($"spec.volumes ({volume.Name}): provider agents take emptyDir volumes only");
            }
        }

        var containers = new JsonArray();
        foreach (var container in pod.Spec.Containers)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            var order = new List<string>();
            void Set(string name, string value)
            {
                if (!env.ContainsKey(name))
                {
                    order.Add(name);
                }

                env[name] = value;
            }

            foreach (var from in container.EnvFrom ?? [])
            {
                IReadOnlyDictionary<string, string>? data;
                if (from.ConfigMapRef is { } mapRef)
                {
                    data = await source.ConfigMapAsync(ns, mapRef.Name, cancellationToken).ConfigureAwait(false);
                    if (data is null && mapRef.Optional != true)
                    {
                        throw new PodConversionException($"containers[{container.Name}].envFrom: ConfigMap {mapRef.Name} does not exist");
                    }
                }
                else if (from.SecretRef is { } secretRef)
                {
                    RequireSecrets(allowSecrets, $"containers[{container.Name}].envFrom.secretRef");
                    data = await source.SecretAsync(ns, secretRef.Name, cancellationToken).ConfigureAwait(false);
                    if (data is null && secretRef.Optional != true)
                    {
                        throw new PodConversionException($"containers[{container.Name}].envFrom: Secret {secretRef.Name} does not exist");
                    }
                }
                else
                {
                    continue;
                }

                foreach (var (key, value) in data ?? new Dictionary<string, string>())
                {
                    Set((from.Prefix ?? "") + key, value);
                }
            }

            foreach (var variable in container.Env ?? [])
            {
                var value = variable.ValueFrom is { } valueFrom
                    ? await ResolveAsync(pod, container, variable.Name, valueFrom, allowSecrets, providerHost, source, cancellationToken).ConfigureAwait(false)
                    : variable.Value ?? "";
                if (value is not null)
                {
                    Set(variable.Name, value);
                }
            }

            var converted = new JsonObject
            {
                ["name"] = container.Name,
                ["image"] = container.Image,
            };
            if (container.Command is { Count: > 0 })
            {
                converted["command"] = new JsonArray([.. container.Command.Select(c => JsonValue.Create(c))]);
            }

            if (container.Args is { Count: > 0 })
            {
                converted["args"] = new JsonArray([.. container.Args.Select(c => JsonValue.Create(c))]);
            }

            if (container.WorkingDir is { Length: > 0 } workingDir)
            {
                converted["workingDir"] = workingDir;
            }

            if (container.Ports is { Count: > 0 })
            {
                converted["ports"] = JsonNode.Parse(KubernetesJson.Serialize(container.Ports.Select(p => new V1ContainerPort { ContainerPort = p.ContainerPort, Name = p.Name, Protocol = p.Protocol }).ToList()));
            }

            if (order.Count > 0)
            {
                converted["env"] = new JsonArray([.. order.Select(name => new JsonObject { ["name"] = name, ["value"] = env[name] })]);
            }

            if (container.Resources is { } resources)
            {
                converted["resources"] = JsonNode.Parse(KubernetesJson.Serialize(resources));
            }

            foreach (var (field, probe) in new[] { ("startupProbe", container.StartupProbe), ("livenessProbe", container.LivenessProbe), ("readinessProbe", container.ReadinessProbe) })
            {
                if (probe is not null)
                {
                    converted[field] = Probe($"containers[{container.Name}].{field}", probe);
                }
            }

            if (container.VolumeMounts?.Where(m => kept.Contains(m.Name)).ToList() is { Count: > 0 } mounts)
            {
                converted["volumeMounts"] = JsonNode.Parse(KubernetesJson.Serialize(mounts));
            }

            containers.Add(converted);
        }

        var spec = new JsonObject { ["containers"] = containers };
        if (volumes.Count > 0)
        {
            spec["volumes"] = volumes;
        }

        if (pod.Spec.RestartPolicy is { Length: > 0 } restartPolicy)
        {
            spec["restartPolicy"] = restartPolicy;
        }

        if (pod.Spec.TerminationGracePeriodSeconds is { } grace)
        {
            spec["terminationGracePeriodSeconds"] = grace;
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = Names.RemotePod(pod.Metadata.Name),
                ["labels"] = new JsonObject { [Names.PodUidLabel] = pod.Metadata.Uid },
            },
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// A probe as the provider's agent runs it. The agent always probes the container's published port on its
    /// own loopback address, so a host is left out; it runs httpGet, tcpSocket and exec probes, and a grpc
    /// probe is refused here rather than by the provider.
    /// </summary>
    private static JsonObject Probe(string field, V1Probe probe)
    {
        if (probe.Grpc is not null)
        {
            throw new PodConversionException($"{field}.grpc: provider agents run httpGet, tcpSocket and exec probes, not grpc");
        }

        var node = JsonNode.Parse(KubernetesJson.Serialize(probe))!.AsObject();
        node["httpGet"]?.AsObject().Remove("host");
        node["tcpSocket"]?.AsObject().Remove("host");
        return node;
    }

    private static async Task<string?> ResolveAsync(V1Pod pod, V1Container container, string name, V1EnvVarSource from, bool allowSecrets, string providerHost, IEnvironmentSource source, CancellationToken cancellationToken)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var field = $"containers[{container.Name}].env[{name}]";
        if (from.ConfigMapKeyRef is { } mapKey)
        {
            var data = await source.ConfigMapAsync(ns, mapKey.Name, cancellationToken).ConfigureAwait(false);
            if (data?.TryGetValue(mapKey.Key, out var value) == true)
            {
                return value;
            }

            return mapKey.Optional == true ? null : throw new PodConversionException($"{field}: ConfigMap {mapKey.Name} has no key {mapKey.Key}");
        }

        if (from.SecretKeyRef is { } secretKey)
        {
            RequireSecrets(allowSecrets, field + ".valueFrom.secretKeyRef");
            var data = await source.SecretAsync(ns, secretKey.Name, cancellationToken).ConfigureAwait(false);
            if (data?.TryGetValue(secretKey.Key, out var value) == true)
            {
                return value;
            }

            return secretKey.Optional == true ? null : throw new PodConversionException($"{field}: Secret {secretKey.Name} has no key {secretKey.Key}");
        }

        if (from.FieldRef is { } fieldRef)
        {
            var path = fieldRef.FieldPath;
            return path switch
            {
                "metadata.name" => pod.Metadata.Name,
                "metadata.namespace" => ns,
                "metadata.uid" => pod.Metadata.Uid ?? "",
                "spec.nodeName" => pod.Spec.NodeName ?? "",
                "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "",
                "status.hostIP" or "status.podIP" => providerHost,
                _ when path.StartsWith("metadata.labels['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal) =>
                    Names.Get(pod.Metadata.Labels, path["metadata.labels['".Length..^2]) ?? "",
                _ when path.StartsWith("metadata.annotations['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal) =>
                    Names.Get(pod.Metadata.Annotations, path["metadata.annotations['".Length..^2]) ?? "",
                _ => throw new PodConversionException($"{field}.valueFrom.fieldRef: {path} cannot be resolved for a provider"),
            };
        }

        if (from.ResourceFieldRef is { } resource)
        {
            var target = resource.ContainerName is { Length: > 0 } other ? pod.Spec.Containers.FirstOrDefault(c => c.Name == other) ?? container : container;
            var parts = resource.Resource.Split('.', 2);
            var values = parts[0] == "limits" ? target.Resources?.Limits : target.Resources?.Requests;
            if (parts.Length != 2 || values?.TryGetValue(parts[1], out var quantity) != true)
            {
                return "0";
            }

            var divisor = resource.Divisor?.ToDecimal() is { } d and > 0 ? d : 1m;
            return Math.Ceiling(quantity!.ToDecimal() / divisor).ToString(CultureInfo.InvariantCulture);
        }

        return "";
    }

    private static void RequireSecrets(bool allowSecrets, string field)
    {
        if (!allowSecrets)
        {
            throw new PodConversionException($"{field}: Secrets are not sent to providers unless placement.allowSecrets is true");
        }
    }
}
