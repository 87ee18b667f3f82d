using DePin.Api;
using DePin.Api.V1Alpha1;
using DePin.Ethereum.Rpc;
using DePin.Marketplace;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using k8s.Models;

namespace DePin.Operator.Controllers;

/// <summary>
/// Keeps a DePinMarketplace's status current: Ready when the marketplace answers and, on a chain, the
/// wallet and contracts are in place; the block height, wallet address, balance and providers known.
/// A marketplace that cannot be used is Ready=False with a reason naming what is wrong and the field.
/// </summary>
internal sealed partial class MarketplaceReconciler(MarketplaceConnector connector, StatusWriter<DePinMarketplace> status, TimeProvider time, ILogger<MarketplaceReconciler> logger) : IReconciler<DePinMarketplace>
{
    public string? Finalizer => null;

    public async Task<ReconcileResult> ReconcileAsync(DePinMarketplace resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var conditions = new List<V1Condition>(resource.Status?.Conditions ?? []);
        var next = new DePinMarketplaceStatus { ObservedGeneration = resource.Metadata.Generation, Conditions = conditions };
        var poll = TimeSpan.FromSeconds(Math.Max(1, resource.Spec.Evm?.PollIntervalSeconds ?? 30));
        try
        {
            var connected = await connector.ConnectAsync(resource, cancellationToken).ConfigureAwait(false);
            next.BlockHeight = connected.BlockHeight;
            next.WalletAddress = connected.Tenant?.Address.ToString();
            next.Balance = connected.Balance is { } balance ? TokenAmount.Format(balance, connected.TokenDecimals) : null;
            next.ProvidersKnown = connected.Providers;
            Conditions.Set(conditions, ConditionTypes.Ready, "True", "Connected", resource.Spec.Type == MarketplaceType.Evm ? $"chain {resource.Spec.Evm!.ChainId} at block {connected.BlockHeight}" : $"{connected.Providers} providers", resource.Metadata.Generation, time.GetUtcNow());
        }
        catch (MarketplaceConfigurationException e)
        {
            connector.Forget(resource.Metadata.Name);
            Conditions.Set(conditions, ConditionTypes.Ready, "False", e.Reason, e.Message, resource.Metadata.Generation, time.GetUtcNow());
            poll = TimeSpan.FromSeconds(30);
        }
        catch (Exception e) when (e is HttpRequestException or JsonRpcException or TimeoutException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            // The node is unreachable: keep the last connection for in-flight work, report it, try again soon.
            LogUnreachable(logger, resource.Metadata.Name, e.Message);
            Conditions.Set(conditions, ConditionTypes.Ready, "False", "Unreachable", e.Message, resource.Metadata.Generation, time.GetUtcNow());
            poll = TimeSpan.FromSeconds(10);
        }

        await status.WriteAsync(resource, next, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.After(poll);
    }

    public Task<ReconcileResult> FinalizeAsync(DePinMarketplace resource, CancellationToken cancellationToken) => Task.FromResult(ReconcileResult.Done);

    [LoggerMessage(Level = LogLevel.Warning, Message = "marketplace {Name} is unreachable: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string name, string error);
}
