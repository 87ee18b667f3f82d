namespace DePin.Runtime.Tests;

/// <summary>A test class with its own LocalKube (CRDs installed) and a token that stops what the test started.</summary>
public abstract class LocalKubeTest : IAsyncLifetime
{
    protected KubeFixture Kube { get; } = new();

    protected CancellationTokenSource Stop { get; } = new();

    public Task InitializeAsync() => Kube.InitializeAsync();

    public async Task DisposeAsync()
    {
        await Stop.CancelAsync();
        Stop.Dispose();
        await Kube.DisposeAsync();
    }
}

/// <summary>
/// Tests that measure handover times run alone: on two cores a parallel soak test stretches every
/// timer. Their safety assertions (no overlap) hold under any load; only the timing needs the quiet.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing-sensitive";
}
