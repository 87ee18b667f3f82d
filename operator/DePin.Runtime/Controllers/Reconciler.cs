using k8s;
using k8s.Models;

namespace DePin.Runtime.Controllers;

/// <summary>What a reconcile asks for next. Throwing instead means: retry with backoff.</summary>
/// <param name="RequeueAfter">Reconcile again after this long, or null to wait for the next change.</param>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    /// <summary>Done; reconcile again on the next change.</summary>
    public static ReconcileResult Done => default;

    /// <summary>Poll: reconcile again after a delay even if nothing changes.</summary>
    /// <param name="delay">The delay.</param>
    /// <returns>The result.</returns>
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>
/// Brings the world in line with one resource. Both methods must be idempotent and safe to run twice,
/// and may run on a stale copy: the controller retries on conflict.
/// </summary>
/// <typeparam name="T">The resource type.</typeparam>
public interface IReconciler<in T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>
    /// The finalizer that holds the resource until <see cref="FinalizeAsync"/> confirms cleanup, or null
    /// when the reconciler creates nothing outside the cluster. The controller adds it before the first
    /// <see cref="ReconcileAsync"/>.
    /// </summary>
    string? Finalizer { get; }

    /// <summary>Reconciles a resource that is not being deleted.</summary>
    /// <param name="resource">The resource, as cached; do not change it in place.</param>
    /// <param name="cancellationToken">Cancelled when the controller stops.</param>
    /// <returns>When to come back.</returns>
    Task<ReconcileResult> ReconcileAsync(T resource, CancellationToken cancellationToken);

    /// <summary>
    /// Cleans up after a resource being deleted. Return <see cref="ReconcileResult.Done"/> only once the
    /// cleanup is confirmed: the controller then removes the finalizer and the resource goes. A reconciler
    /// whose <see cref="Finalizer"/> is null is called here for every resource that is being deleted but
    /// still held (by another finalizer, or a pod's graceful deletion), and nothing is removed after it.
    /// </summary>
    /// <param name="resource">The resource, as cached.</param>
    /// <param name="cancellationToken">Cancelled when the controller stops.</param>
    /// <returns>Done when clean; a requeue when cleanup is still under way.</returns>
    Task<ReconcileResult> FinalizeAsync(T resource, CancellationToken cancellationToken);
}
