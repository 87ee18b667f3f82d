namespace DePin.Testing;

/// <summary>Waits for a condition instead of sleeping for a fixed time.</summary>
public static class Eventually
{
    /// <summary>Polls a condition until it holds.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="timeout">How long to wait, 10 seconds by default.</param>
    /// <returns>A task that completes when the condition holds, or fails with a cancellation at the timeout.</returns>
    public static Task UntilAsync(Func<bool> condition, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout);

    /// <summary>Polls an asynchronous condition until it holds.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="timeout">How long to wait, 10 seconds by default.</param>
    /// <returns>A task that completes when the condition holds, or fails with a cancellation at the timeout.</returns>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition().ConfigureAwait(false))
        {
            await Task.Delay(10, cts.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A GET to a workload that a pod runs: the agent reports a pod Running once its process has
    /// started, which can be a moment before the program listens.
    /// </summary>
    /// <param name="http">The client.</param>
    /// <param name="url">The workload's address.</param>
    /// <returns>The answer, once the workload listens (refused connections are tried again for 10 seconds).</returns>
    public static async Task<string> GetWhenListeningAsync(HttpClient http, Uri url)
    {
        ArgumentNullException.ThrowIfNull(http);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return await http.GetStringAsync(url).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }
}
