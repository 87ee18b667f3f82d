using System.Globalization;
using DePin.Api.V1Alpha1;
using DePin.Marketplace;
using k8s;
using k8s.Models;

namespace DePin.Operator.Deployments;

/// <summary>What a replica needs and the pods made from a deployment's template.</summary>
internal static class PodTemplates
{
    /// <summary>CPU assumed for a replica whose containers request none.</summary>
    public const long DefaultCpuMillis = 100;

    /// <summary>Memory assumed for a replica whose containers request none.</summary>
    public const long DefaultMemoryMiB = 128;

    /// <summary>What one replica needs: the sum over its containers of requests, or limits where there are no requests.</summary>
    public static ReplicaResources PerReplica(DePinDeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        decimal cpu = 0, memory = 0, storage = 0, gpus = 0;
        foreach (var container in spec.Template.Spec?.Containers ?? [])
        {
            cpu += Amount(container, "cpu");
            memory += Amount(container, "memory");
            storage += Amount(container, "ephemeral-storage");
            gpus += Amount(container, "nvidia.com/gpu");
        }

        var cpuMillis = (long)Math.Ceiling(cpu * 1000);
        var memoryMiB = (long)Math.Ceiling(memory / (1024 * 1024));
        return new ReplicaResources(
            cpuMillis > 0 ? cpuMillis : DefaultCpuMillis,
            memoryMiB > 0 ? memoryMiB : DefaultMemoryMiB,
            (long)Math.Ceiling(storage / (1024 * 1024)),
            (int)gpus,
            spec.Placement?.GpuModels is { Count: 1 } models ? models[0] : "");
    }

    /// <summary>The same resources as the capacity of a lease per replica.</summary>
    public static ProviderCapacity Capacity(ReplicaResources resources, int replicas = 1)
    {
        ArgumentNullException.ThrowIfNull(resources);
        return new ProviderCapacity
        {
            Cpu = new ResourceQuantity((resources.CpuMillis * replicas).ToString(CultureInfo.InvariantCulture) + "m"),
            Memory = new ResourceQuantity((resources.MemoryMiB * replicas).ToString(CultureInfo.InvariantCulture) + "Mi"),
            Disk = resources.StorageMiB > 0 ? new ResourceQuantity((resources.StorageMiB * replicas).ToString(CultureInfo.InvariantCulture) + "Mi") : null,
            Gpus = resources.GpuCount > 0 ? resources.GpuCount * replicas : null,
            Pods = replicas,
        };
    }

    /// <summary>The pod of one replica slot of a lease, bound to the lease's virtual node.</summary>
    public static V1Pod ProviderPod(DePinDeployment deployment, DePinLease lease, string nodeName, int slot, string templateHash)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(lease);
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(deployment.Spec.Template));
        var labels = Labels(deployment, template, slot, templateHash, "provider");
        labels[Names.LeaseLabel] = lease.Spec.LeaseId;
        if (Names.LabelValue(lease.Spec.Provider.Id) is { } provider)
        {
            labels[Names.ProviderLabel] = provider;
        }

        var spec = template.Spec;
        spec.NodeName = nodeName;
        spec.NodeSelector = null;
        spec.Affinity = null;
        spec.SchedulerName = null;

        // The provider never gets a service-account token, and a real API server would otherwise mount one.
        spec.AutomountServiceAccountToken = false;
        spec.Tolerations = [.. spec.Tolerations ?? [], new V1Toleration { Key = Names.VirtualNodeTaint.Key, OperatorProperty = "Equal", Value = Names.VirtualNodeTaint.Value, Effect = Names.VirtualNodeTaint.Effect }];
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = Names.Pod(deployment.Metadata.Name, lease.Spec.LeaseId, slot, templateHash),
                NamespaceProperty = deployment.Metadata.NamespaceProperty,
                Labels = labels,
                Annotations = template.Metadata?.Annotations,
                OwnerReferences = [Names.Owner(deployment)],
            },
            Spec = spec,
        };
    }

    /// <summary>
    /// A replacement pod for cloud nodes: the template with <c>fallback.nodeSelector</c> added,
    /// <c>fallback.tolerations</c> appended and <c>fallback.affinity</c> in place of the template's; the
    /// cluster's scheduler places it.
    /// </summary>
    public static V1Pod FallbackPod(DePinDeployment deployment, int index, string templateHash)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(deployment.Spec.Template));
        var fallback = deployment.Spec.Fallback ?? new FallbackSpec();
        var labels = Labels(deployment, template, index, templateHash, "fallback");

        var spec = template.Spec;
        spec.NodeName = null;
        if (fallback.NodeSelector is { Count: > 0 } selector)
        {
            spec.NodeSelector = new Dictionary<string, string>(spec.NodeSelector ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            foreach (var (key, value) in selector)
            {
                spec.NodeSelector[key] = value;
            }
        }

        if (fallback.Tolerations is { Count: > 0 } tolerations)
        {
            spec.Tolerations = [.. spec.Tolerations ?? [], .. tolerations];
        }

        if (fallback.Affinity is { } affinity)
        {
            spec.Affinity = affinity;
        }

        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = Names.Fallback(deployment.Metadata.Name, index, templateHash),
                NamespaceProperty = deployment.Metadata.NamespaceProperty,
                Labels = labels,
                Annotations = template.Metadata?.Annotations,
                OwnerReferences = [Names.Owner(deployment)],
            },
            Spec = spec,
        };
    }

    // The template's labels and the operator's own, which find a pod's deployment, slot, template and placement.
    private static Dictionary<string, string> Labels(DePinDeployment deployment, V1PodTemplateSpec template, int slot, string templateHash, string placement)
    {
        var labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [Names.DeploymentUidLabel] = deployment.Metadata.Uid,
            [Names.SlotLabel] = slot.ToString(CultureInfo.InvariantCulture),
            [Names.TemplateHashLabel] = templateHash,
            [Names.PlacementLabel] = placement,
        };
        if (Names.LabelValue(deployment.Metadata.Name) is { } name)
        {
            labels[Names.DeploymentLabel] = name;
        }

        return labels;
    }

    /// <summary>Whether a pod's Ready condition is True.</summary>
    public static bool IsReady(V1Pod pod) => pod?.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static decimal Amount(V1Container container, string name)
    {
        ResourceQuantity? quantity = null;
        if (container.Resources?.Requests?.TryGetValue(name, out var requested) != true || (quantity = requested) is null)
        {
            container.Resources?.Limits?.TryGetValue(name, out quantity);
        }

        try
        {
            return quantity?.ToDecimal() ?? 0;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return 0;
        }
    }
}
