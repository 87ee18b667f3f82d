using DePin.Runtime.Queue;

namespace DePin.Runtime.Controllers;

/// <summary>Settings of a <see cref="Controller{T}"/>.</summary>
public sealed class ControllerOptions
{
    /// <summary>Name in logs and metrics: <c>kind.concern</c>, for example <c>depindeployment.auction</c>. Required.</summary>
    public required string Name { get; init; }

    /// <summary>Keys reconciled at once (never the same key twice). Default 2.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Retry backoff and rate limit of the work queue.</summary>
    public WorkQueueOptions Queue { get; init; } = new();
}
