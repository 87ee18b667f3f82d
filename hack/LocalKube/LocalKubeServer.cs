using DePin.LocalKube.Http;
using DePin.LocalKube.Schema;
using DePin.LocalKube.Simulation;
using DePin.LocalKube.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace DePin.LocalKube;

/// <summary>
/// A single-process Kubernetes API server for development and tests, on 127.0.0.1. Start it in-process
/// with <see cref="StartAsync"/>, or run the LocalKube command. Not a production control plane.
/// </summary>
public sealed class LocalKubeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CloudNodes _cloudNodes;

    private LocalKubeServer(WebApplication app, ObjectStore store, Faults faults, CloudNodes cloudNodes)
    {
        _app = app;
        _cloudNodes = cloudNodes;
        Store = store;
        Faults = faults;
    }

    /// <summary>The objects.</summary>
    public ObjectStore Store { get; }

    /// <summary>Fault injection.</summary>
    public Faults Faults { get; }

    /// <summary>The base URL, for example <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1");

    /// <summary>Starts a server.</summary>
    /// <param name="options">Settings, or null for defaults.</param>
    /// <param name="time">The clock, or null for the system clock.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static async Task<LocalKubeServer> StartAsync(ServerOptions? options = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        options ??= new ServerOptions();
        time ??= TimeProvider.System;
        var store = new ObjectStore(new ResourceRegistry(), time, new SchemaAdmission(), new StoreOptions { HistoryLimit = options.HistoryLimit });
        var faults = new Faults(store);
        var handler = new ApiHandler(store, options, time, faults);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        app.Run(async context =>
        {
            if (!await faults.TryServeAsync(context).ConfigureAwait(false))
            {
                await handler.HandleAsync(context).ConfigureAwait(false);
            }
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var cloudNodes = new CloudNodes(store, time, options.CloudNodes);
        cloudNodes.Start();
        var server = new LocalKubeServer(app, store, faults, cloudNodes);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>A kubeconfig that points kubectl and client libraries at the server.</summary>
    /// <returns>YAML text.</returns>
    public string Kubeconfig() =>
        $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: localkube
          cluster:
            server: {{Url.ToString().TrimEnd('/')}}
        users:
        - name: localkube
          user: {}
        contexts:
        - name: localkube
          context:
            cluster: localkube
            user: localkube
            namespace: default
        current-context: localkube

        """;

    /// <summary>Stops the server.</summary>
    /// <returns>A task that completes when it has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _cloudNodes.DisposeAsync().ConfigureAwait(false);
        Store.CloseAllWatches();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
