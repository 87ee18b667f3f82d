using k8s.Models;

namespace DePin.Runtime.Controllers;

/// <summary>
/// The three conditions that kstatus (and so <c>kubectl wait</c>, Argo CD and Flux) reads:
/// <c>Ready</c>, and the abnormal-true <c>Reconciling</c> and <c>Stalled</c>, which are present only
/// while they hold. Each method leaves the three consistent with one another.
/// </summary>
public static class Kstatus
{
    /// <summary>Ready: the resource does what its spec asks.</summary>
    public const string Ready = "Ready";

    /// <summary>Reconciling: work towards the spec is under way.</summary>
    public const string Reconciling = "Reconciling";

    /// <summary>Stalled: no progress is possible without a change to the spec.</summary>
    public const string Stalled = "Stalled";

    /// <summary>Work is under way: Reconciling=True, Ready=False, no Stalled.</summary>
    /// <param name="conditions">The conditions.</param>
    /// <param name="reason">CamelCase reason.</param>
    /// <param name="message">Detail.</param>
    /// <param name="generation">metadata.generation observed.</param>
    /// <param name="now">The time of a transition.</param>
    /// <returns>True when anything changed.</returns>
    public static bool SetReconciling(IList<V1Condition> conditions, string reason, string message, long? generation, DateTimeOffset now) =>
        Conditions.Set(conditions, Reconciling, "True", reason, message, generation, now)
        | Conditions.Set(conditions, Ready, "False", reason, message, generation, now)
        | Remove(conditions, Stalled);

    /// <summary>Done: Ready=True, no Reconciling, no Stalled.</summary>
    /// <param name="conditions">The conditions.</param>
    /// <param name="reason">CamelCase reason.</param>
    /// <param name="message">Detail.</param>
    /// <param name="generation">metadata.generation observed.</param>
    /// <param name="now">The time of a transition.</param>
    /// <returns>True when anything changed.</returns>
    public static bool SetReady(IList<V1Condition> conditions, string reason, string message, long? generation, DateTimeOffset now) =>
        Conditions.Set(conditions, Ready, "True", reason, message, generation, now)
        | Remove(conditions, Reconciling)
        | Remove(conditions, Stalled);

    /// <summary>Stuck until the spec changes: Stalled=True, Ready=False, no Reconciling.</summary>
    /// <param name="conditions">The conditions.</param>
    /// <param name="reason">CamelCase reason.</param>
    /// <param name="message">Detail, naming the field to change.</param>
    /// <param name="generation">metadata.generation observed.</param>
    /// <param name="now">The time of a transition.</param>
    /// <returns>True when anything changed.</returns>
    public static bool SetStalled(IList<V1Condition> conditions, string reason, string message, long? generation, DateTimeOffset now) =>
        Conditions.Set(conditions, Stalled, "True", reason, message, generation, now)
        | Conditions.Set(conditions, Ready, "False", reason, message, generation, now)
        | Remove(conditions, Reconciling);

    private static bool Remove(IList<V1Condition> conditions, string type)
    {
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        return existing is not null && conditions.Remove(existing);
    }
}
