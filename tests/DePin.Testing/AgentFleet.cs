namespace DePin.Testing;

/// <summary>
/// Folders for a number of agents and the agents started in them; disposing it stops every agent, then
/// kills what their pods left running and deletes the folders.
/// </summary>
/// <param name="count">How many folders to make.</param>
public sealed class AgentFleet(int count) : IAsyncDisposable
{
    /// <summary>One folder per agent.</summary>
    public IReadOnlyList<AgentDirectory> Directories { get; } = [.. Enumerable.Range(0, count).Select(_ => new AgentDirectory())];

    /// <summary>The agents; add each one started, or replace one restarted.</summary>
    public List<AgentProcess> Agents { get; } = [];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var agent in Agents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var directory in Directories)
        {
            directory.Dispose();
        }
    }
}
