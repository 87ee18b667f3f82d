using k8s.Models;

namespace DePin.Runtime.Controllers;

/// <summary>
/// Sets status conditions the way the Kubernetes API conventions ask: one entry per type, the
/// observed generation on each, and lastTransitionTime changed only when the status flips.
/// </summary>
public static class Conditions
{
    /// <summary>Sets a condition.</summary>
    /// <param name="conditions">The list to change.</param>
    /// <param name="type">Condition type, for example <c>Ready</c>.</param>
    /// <param name="status"><c>True</c>, <c>False</c> or <c>Unknown</c>.</param>
    /// <param name="reason">CamelCase reason from a fixed list.</param>
    /// <param name="message">Human-readable detail.</param>
    /// <param name="observedGeneration">metadata.generation the condition is based on.</param>
    /// <param name="now">The time of a transition.</param>
    /// <returns>True when anything changed.</returns>
    public static bool Set(IList<V1Condition> conditions, string type, string status, string reason, string message, long? observedGeneration, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        if (status is not ("True" or "False" or "Unknown"))
        {
            throw new ArgumentException($"condition status must be True, False or Unknown, not {status}", nameof(status));
        }

        var existing = conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            conditions.Add(new V1Condition
            {
                Type = type,
                Status = status,
                Reason = reason,
                Message = message,
                ObservedGeneration = observedGeneration,
                LastTransitionTime = now.UtcDateTime,
            });
            return true;
        }

        if (existing.Status == status && existing.Reason == reason && existing.Message == message && existing.ObservedGeneration == observedGeneration)
        {
            return false;
        }

        var index = conditions.IndexOf(existing);
        conditions[index] = existing with
        {
            Status = status,
            Reason = reason,
            Message = message,
            ObservedGeneration = observedGeneration,
            LastTransitionTime = existing.Status == status ? existing.LastTransitionTime : now.UtcDateTime,
        };
        return true;
    }

    /// <summary>Whether a condition has a status.</summary>
    /// <param name="conditions">The conditions, or null.</param>
    /// <param name="type">Condition type.</param>
    /// <param name="status">Expected status.</param>
    /// <returns>True when present with that status.</returns>
    public static bool Is(IEnumerable<V1Condition>? conditions, string type, string status) =>
        conditions?.Any(c => c.Type == type && c.Status == status) == true;
}
