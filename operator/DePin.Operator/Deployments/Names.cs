using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DePin.Api.V1Alpha1;
using k8s;
using k8s.Models;

namespace DePin.Operator.Deployments;

/// <summary>
/// Labels, finalizers and the names of the objects the operator creates. Every name is derived from
/// what it stands for (a lease id, a replica slot), never random, so that creating an object again
/// after a restart or from a stale cache answers 409 AlreadyExists instead of making a second one.
/// </summary>
internal static partial class Names
{
    /// <summary>Holds a DePinDeployment until its leases are closed and its pods are gone.</summary>
    public const string DeploymentFinalizer = "depin.dev/cleanup";

    /// <summary>Holds a DePinLease until its pods are gone and the lease is closed on the marketplace.</summary>
    public const string LeaseFinalizer = "depin.dev/close-lease";

    /// <summary>Uid of the owning DePinDeployment, on its pods and leases; the scale subresource's selector.</summary>
    public const string DeploymentUidLabel = "depin.dev/deployment-uid";

    /// <summary>Name of the owning DePinDeployment, where it fits a label value.</summary>
    public const string DeploymentLabel = "depin.dev/deployment";

    /// <summary>The marketplace lease id, on virtual nodes and the pods that run on them.</summary>
    public const string LeaseLabel = "depin.dev/lease";

    /// <summary>The provider id, on virtual nodes and leases.</summary>
    public const string ProviderLabel = "depin.dev/provider";

    /// <summary>The replica slot a pod fills within its lease.</summary>
    public const string SlotLabel = "depin.dev/slot";

    /// <summary>Hash of the pod template a pod was made from; a new hash rolls the pods.</summary>
    public const string TemplateHashLabel = "depin.dev/template-hash";

    /// <summary>Where a pod runs: <c>provider</c> (a virtual node) or <c>fallback</c> (a cloud node).</summary>
    public const string PlacementLabel = "depin.dev/placement";

    /// <summary>On a pod on a provider: where its container ports answer on the provider's host, <c>8080=31001,9090=31002</c>.</summary>
    public const string HostPortsAnnotation = "depin.dev/host-ports";

    /// <summary>On a pod at a provider: the uid of the pod in the cluster it stands for.</summary>
    public const string PodUidLabel = "depin.dev/pod-uid";

    /// <summary>The GPU model of a virtual node.</summary>
    public const string GpuModelLabel = "depin.dev/gpu-model";

    /// <summary>The taint of virtual nodes, which only the operator's pods tolerate.</summary>
    public static readonly V1Taint VirtualNodeTaint = new() { Key = "virtual-kubelet.io/provider", Value = "depin", Effect = "NoSchedule" };

    /// <summary>The namespace of node Leases.</summary>
    public const string NodeLeaseNamespace = "kube-node-lease";

    /// <summary>The key of an order on the marketplace: the deployment's uid and the auction round.</summary>
    public static string OrderKey(string deploymentUid, int attempt) => $"{deploymentUid}/{attempt}";

    /// <summary>The DePinLease of a marketplace lease: <c>deployment-lID</c>.</summary>
    public static string Lease(string deployment, string leaseId)
    {
        var suffix = leaseId.StartsWith('l') ? leaseId : "l" + leaseId;
        return Fit(deployment, "-" + Label(suffix), 253);
    }

    /// <summary>The virtual node of a lease: <c>depin-marketplace-leaseId</c>.</summary>
    public static string Node(string marketplace, string leaseId) => $"depin-{marketplace}-{Label(leaseId)}";

    /// <summary>The pod of a replica slot of a lease, for one template.</summary>
    public static string Pod(string deployment, string leaseId, int slot, string templateHash) =>
        Fit(deployment, "-" + Digest($"{leaseId}/{slot}/{templateHash}")[..10], 253);

    /// <summary>The cloud pod that stands in for a replica during a failover.</summary>
    public static string Fallback(string deployment, int index, string templateHash) =>
        Fit(deployment, "-fb-" + Digest($"{index}/{templateHash}")[..8], 253);

    /// <summary>The name of a pod on the agent, which takes DNS labels only.</summary>
    public static string RemotePod(string podName) =>
        podName.Length <= 63 && DnsLabel().IsMatch(podName) ? podName : "pod-" + Digest(podName)[..16];

    /// <summary>Hash of a pod template: any change to it rolls the pods.</summary>
    public static string TemplateHash(V1PodTemplateSpec template) => Digest(KubernetesJson.Serialize(template))[..10];

    /// <summary>A label value, or null when the text cannot be one.</summary>
    public static string? LabelValue(string? text) => text is { Length: > 0 and <= 63 } && LabelValuePattern().IsMatch(text) ? text : null;

    /// <summary>A value of a map such as labels, or null.</summary>
    public static string? Get(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    /// <summary>The selector of a deployment's pods.</summary>
    public static string Selector(DePinDeployment deployment) => $"{DeploymentUidLabel}={deployment.Metadata.Uid}";

    /// <summary>An owner reference to a deployment that makes it the controller.</summary>
    public static V1OwnerReference Owner(DePinDeployment deployment) => new()
    {
        ApiVersion = deployment.ApiVersion,
        Kind = deployment.Kind,
        Name = deployment.Metadata.Name,
        Uid = deployment.Metadata.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    private static string Label(string text) => Regex.Replace(text.ToLowerInvariant(), "[^a-z0-9-]", "-");

    private static string Fit(string prefix, string suffix, int max) =>
        (prefix.Length + suffix.Length <= max ? prefix : prefix[..(max - suffix.Length)].TrimEnd('-', '.')) + suffix;

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelValuePattern();
}
