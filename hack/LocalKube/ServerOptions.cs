namespace DePin.LocalKube;

/// <summary>Settings of a LocalKube server.</summary>
public sealed class ServerOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one. Default 0.</summary>
    public int Port { get; init; }

    /// <summary>How often a watch that asked for bookmarks gets one. Default 1 second.</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Changes kept for watches that resume from a resourceVersion. Default 100,000.</summary>
    public int HistoryLimit { get; init; } = 100_000;

    /// <summary>
    /// Require a bearer token on every request and authorize it with RBAC from the stored roles and
    /// bindings. The kubeconfig then carries an administrator token. Default false.
    /// </summary>
    public bool Rbac { get; init; }

    /// <summary>Simulated cloud nodes, and how they run pods. Default: none.</summary>
    public Simulation.CloudNodeOptions CloudNodes { get; init; } = new();
}
