using DePin.Runtime.Controllers;
using DePin.Runtime.Informers;
using DePin.Runtime.Leadership;
using Microsoft.Extensions.Hosting;

namespace DePin.Runtime.Hosting;

/// <summary>
/// Runs the operator's informers and controllers on the generic host: informers always, so that a
/// standby replica keeps warm caches; controllers only while this replica leads, built afresh for each
/// term and stopped, keys in flight finished, before leadership is given up.
/// </summary>
/// <param name="informers">The shared informers.</param>
/// <param name="controllers">Builds the controllers of one leadership term.</param>
/// <param name="readiness">Marked synced once every informer has listed.</param>
/// <param name="elector">The leader elector, or null to lead alone.</param>
public sealed class ControllerManager(IReadOnlyList<IInformer> informers, Func<IReadOnlyList<IController>> controllers, Readiness readiness, LeaderElector? elector = null) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = informers.Select(i => Task.Run(() => i.RunAsync(stoppingToken), CancellationToken.None)).ToList();
        try
        {
            await Task.WhenAll(informers.Select(i => i.Synced)).WaitAsync(stoppingToken).ConfigureAwait(false);
            readiness.Elector = elector;
            readiness.MarkSynced();
            if (elector is null)
            {
                await LeadAsync(stoppingToken).ConfigureAwait(false);
            }
            else
            {
                await elector.RunAsync(LeadAsync, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutting down.
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private Task LeadAsync(CancellationToken leading) =>
        Task.WhenAll(controllers().Select(c => c.RunAsync(leading)));
}
