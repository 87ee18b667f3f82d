using System.Net;
using System.Text.Json.Nodes;
using DePin.Api.V1Alpha1;
using DePin.Ethereum.Rpc;
using DePin.Marketplace;
using DePin.Operator.Deployments;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Events;
using DePin.Runtime.Informers;
using k8s;
using k8s.Models;

namespace DePin.Operator.Controllers;

/// <summary>
/// The kubelet of the virtual nodes: sends each pod bound to a lease's node to the provider's agent,
/// sends it again if it vanishes there, mirrors its status back (phase, conditions, container states,
/// restarts), and lets a deleted pod go only once the agent confirms it is gone, the way a kubelet
/// finishes a graceful deletion. A pod whose lease is gone, or was closed without the provider's
/// answer, is let go at once: the provider may no longer run it.
/// </summary>
internal sealed partial class PodReconciler(
    IKubernetes kubernetes,
    MarketplaceConnector connector,
    Informer<DePinMarketplace> marketplaces,
    Informer<DePinLease> leases,
    Informer<DePinDeployment> deployments,
    IResourceApi<V1Pod> podApi,
    Informer<V1Pod> pods,
    IEnvironmentSource environment,
    HttpClient http,
    EventRecorder events,
    TimeProvider time,
    ILogger<PodReconciler> logger) : IReconciler<V1Pod>
{
    /// <summary>Index of DePinLeases by the name of their virtual node.</summary>
    public const string LeaseNodeIndex = "virtual-node";

    public string? Finalizer => null;

    public async Task<ReconcileResult> ReconcileAsync(V1Pod resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Spec?.NodeName is not { Length: > 0 } nodeName || !nodeName.StartsWith("depin-", StringComparison.Ordinal))
        {
            return ReconcileResult.Done;
        }

        var matching = leases.Cache.ByIndex(LeaseNodeIndex, nodeName);
        var lease = matching.Count > 0 ? matching[0] : null;

        if (lease is null)
        {
            // The lease and its node are gone: nothing runs this pod any more; the deployment makes a new one.
            await ReleaseAsync(resource, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        if (lease.Metadata.DeletionTimestamp is not null || lease.Status?.State is LeaseState.Closing or LeaseState.Closed)
        {
            return ReconcileResult.Done;
        }

        var (client, _) = await ClientAsync(lease, cancellationToken).ConfigureAwait(false);
        var remoteName = Names.RemotePod(resource.Metadata.Name);
        var remote = await client.GetPodAsync(lease.Spec.LeaseId, remoteName, cancellationToken).ConfigureAwait(false);
        if (remote?["metadata"]?["labels"]?[Names.PodUidLabel]?.GetValue<string>() is { } uid && uid != resource.Metadata.Uid)
        {
            // Left over from an earlier pod of the same name (deleted without waiting for the provider): replaced, not adopted.
            await client.DeletePodAsync(lease.Spec.LeaseId, remoteName, cancellationToken).ConfigureAwait(false);
            remote = null;
        }

        if (remote is null)
        {
            var deployment = deployments.Cache.Get(ObjectKey.Of(resource.Metadata.NamespaceProperty, lease.Spec.Deployment));
            JsonObject body;
            try
            {
                body = await RemotePods.ConvertAsync(resource, deployment?.Spec.Placement?.AllowSecrets == true, Host(lease), environment, cancellationToken).ConfigureAwait(false);
            }
            catch (PodConversionException e)
            {
                await MarkWaitingAsync(resource, "CreateContainerConfigError", e.Message, cancellationToken).ConfigureAwait(false);
                return ReconcileResult.After(TimeSpan.FromSeconds(10));
            }

            try
            {
                remote = await client.CreatePodAsync(lease.Spec.LeaseId, body, cancellationToken).ConfigureAwait(false);
                LogSent(logger, resource.Metadata.Name, lease.Spec.Provider.Id, lease.Spec.LeaseId);
            }
            catch (AgentRequestFailedException e) when (e.Status == HttpStatusCode.NotFound)
            {
                // The agent learns of a lease from the chain; until it has, it does not know it.
                return ReconcileResult.After(TimeSpan.FromSeconds(1));
            }
            catch (AgentRequestFailedException e) when (e.Status == HttpStatusCode.Conflict && e.Message.Contains("exists", StringComparison.OrdinalIgnoreCase))
            {
                remote = await client.GetPodAsync(lease.Spec.LeaseId, remoteName, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentRequestFailedException e) when (e.Status is { } status && (int)status is >= 400 and < 500)
            {
                if (status == HttpStatusCode.UnprocessableEntity && await ReclaimAsync(client, lease, nodeName, cancellationToken).ConfigureAwait(false) > 0)
                {
                    // The lease was full of pods no pod in the cluster stands for (deleted with no grace period): room is made, try again.
                    return ReconcileResult.After(TimeSpan.FromMilliseconds(100));
                }

                await MarkWaitingAsync(resource, "ProviderRefused", e.Message, cancellationToken).ConfigureAwait(false);
                await events.RecordAsync(resource, "Warning", "ProviderRefused", $"{lease.Spec.Provider.Id}: {e.Message}", cancellationToken).ConfigureAwait(false);
                return ReconcileResult.After(TimeSpan.FromSeconds(30));
            }

            if (remote is null)
            {
                return ReconcileResult.After(TimeSpan.FromSeconds(1));
            }
        }

        var ready = await MirrorAsync(resource, remote, Host(lease), cancellationToken).ConfigureAwait(false);
        return ReconcileResult.After(ready ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(1));
    }

    public Task<ReconcileResult> FinalizeAsync(V1Pod resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Spec?.NodeName is not { Length: > 0 } nodeName || !nodeName.StartsWith("depin-", StringComparison.Ordinal))
        {
            return Task.FromResult(ReconcileResult.Done);
        }

        var matching = leases.Cache.ByIndex(LeaseNodeIndex, nodeName);
        return RemoveAsync(resource, matching.Count > 0 ? matching[0] : null, cancellationToken);
    }

    /// <summary>
    /// Removes the lease's pods at the provider that no pod in the cluster stands for: their pod was
    /// deleted without waiting for the provider (a forced delete, or while the operator was down).
    /// </summary>
    /// <returns>How many were removed.</returns>
    internal static async Task<int> ReclaimAsync(AgentClient client, DePinLease lease, IReadOnlyList<V1Pod> onNode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var known = onNode.ToDictionary(p => Names.RemotePod(p.Metadata.Name), p => p.Metadata.Uid, StringComparer.Ordinal);
        var removed = 0;
        foreach (var remote in await client.ListPodsAsync(lease.Spec.LeaseId, cancellationToken).ConfigureAwait(false))
        {
            var name = remote["metadata"]?["name"]?.GetValue<string>();
            var uid = remote["metadata"]?["labels"]?[Names.PodUidLabel]?.GetValue<string>();
            if (name is not null && (!known.TryGetValue(name, out var expected) || (uid is not null && uid != expected)))
            {
                await client.DeletePodAsync(lease.Spec.LeaseId, name, cancellationToken).ConfigureAwait(false);
                removed++;
            }
        }

        return removed;
    }

    private static string Host(DePinLease lease) =>
        Uri.TryCreate(lease.Spec.Provider.Endpoint, UriKind.Absolute, out var endpoint) ? endpoint.Host : "";

    private Task<int> ReclaimAsync(AgentClient client, DePinLease lease, string nodeName, CancellationToken cancellationToken) =>
        ReclaimAsync(client, lease, pods.Cache.ByIndex(PodIndexes.NodeName, nodeName), cancellationToken);

    private async Task<(AgentClient Client, ConnectedMarketplace Market)> ClientAsync(DePinLease lease, CancellationToken cancellationToken)
    {
        var market = await connector.ForAsync(lease.Spec.Marketplace, marketplaces.Cache, cancellationToken).ConfigureAwait(false);
        return (MarketplaceConnector.Agent(market, lease.Spec.Provider, http, time), market);
    }

    private async Task<ReconcileResult> RemoveAsync(V1Pod pod, DePinLease? lease, CancellationToken cancellationToken)
    {
        if (lease is not null && lease.Status?.State != LeaseState.Closed)
        {
            var closing = lease.Metadata.DeletionTimestamp is { } since && time.GetUtcNow() - ClusterObjects.Utc(since) >= LeaseReconciler.PodRemovalGrace;
            try
            {
                var (client, _) = await ClientAsync(lease, cancellationToken).ConfigureAwait(false);
                await client.DeletePodAsync(lease.Spec.LeaseId, Names.RemotePod(pod.Metadata.Name), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (closing && e is AgentRequestFailedException or HttpRequestException or MarketplaceConfigurationException or JsonRpcException)
            {
                // The lease is being closed without the provider: its pods go with it.
                LogReleasedUnconfirmed(logger, ObjectKey.Of(pod), e.Message);
            }
            catch (AgentRequestFailedException e) when (e.Status == HttpStatusCode.NotFound)
            {
                // The agent no longer knows the lease: nothing of the pod runs there.
            }
        }

        await ReleaseAsync(pod, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done;
    }

    // The final delete that a kubelet makes once a pod's containers are gone.
    private Task ReleaseAsync(V1Pod pod, CancellationToken cancellationToken) =>
        ClusterObjects.DeletePodAsync(kubernetes, pod, 0, cancellationToken);

    private async Task<bool> MirrorAsync(V1Pod pod, JsonObject remote, string host, CancellationToken cancellationToken)
    {
        var status = remote["status"]?.DeepClone() as JsonObject ?? [];
        if (host.Length > 0)
        {
            status["hostIP"] = host;
            status["podIP"] = host;
            status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = host });
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = host });
        }

        // Where each container port answers on the provider's host, for clients and the SLA probe.
        var ports = string.Join(",", (remote["spec"]?["containers"]?.AsArray() ?? [])
            .SelectMany(c => c?["ports"]?.AsArray() ?? [])
            .Where(p => p?["hostPort"] is not null)
            .Select(p => $"{p!["containerPort"]}={p["hostPort"]}"));
        if (ports.Length > 0 && Names.Get(pod.Metadata.Annotations, Names.HostPortsAnnotation) != ports)
        {
            var annotate = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [Names.HostPortsAnnotation] = ports } } };
            await podApi.PatchAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, new V1Patch(annotate.ToJsonString(), V1Patch.PatchType.MergePatch), status: false, cancellationToken).ConfigureAwait(false);
        }

        var mirrored = KubernetesJson.Deserialize<V1PodStatus>(status.ToJsonString());
        var ready = mirrored.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
        var before = JsonNode.Parse(KubernetesJson.Serialize(pod.Status ?? new V1PodStatus()));
        var after = JsonNode.Parse(KubernetesJson.Serialize(mirrored));
        if (!JsonNode.DeepEquals(Comparable(before), Comparable(after)))
        {
            var patch = new JsonObject { ["status"] = after };
            await podApi.PatchAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), status: true, cancellationToken).ConfigureAwait(false);
        }

        return ready;
    }

    // What changes between two reads of the same state: heartbeat-like timestamps of conditions are left out.
    private static JsonNode? Comparable(JsonNode? status)
    {
        if (status is not JsonObject copy)
        {
            return status;
        }

        copy = (JsonObject)copy.DeepClone();
        foreach (var condition in copy["conditions"]?.AsArray() ?? [])
        {
            (condition as JsonObject)?.Remove("lastProbeTime");
        }

        return copy;
    }

    private async Task MarkWaitingAsync(V1Pod pod, string reason, string message, CancellationToken cancellationToken)
    {
        var status = new V1PodStatus
        {
            Phase = "Pending",
            Conditions =
            [
                new V1PodCondition { Type = "PodScheduled", Status = "True" },
                new V1PodCondition { Type = "Ready", Status = "False", Reason = reason, Message = message },
            ],
            ContainerStatuses = [.. pod.Spec.Containers.Select(c => new V1ContainerStatus { Name = c.Name, Image = c.Image, ImageID = "", Ready = false, RestartCount = 0, State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } } })],
        };
        var before = JsonNode.Parse(KubernetesJson.Serialize(pod.Status ?? new V1PodStatus()));
        var after = JsonNode.Parse(KubernetesJson.Serialize(status));
        if (!JsonNode.DeepEquals(before, after))
        {
            await podApi.PatchAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, new V1Patch(new JsonObject { ["status"] = after }.ToJsonString(), V1Patch.PatchType.MergePatch), status: true, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sent pod {Pod} to provider {Provider} under lease {LeaseId}")]
    private static partial void LogSent(ILogger logger, string pod, string provider, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pod {Pod} released without the provider's confirmation, as its lease closes: {Error}")]
    private static partial void LogReleasedUnconfirmed(ILogger logger, string pod, string error);
}
