using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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

    private LocalKubeServer(WebApplication app, ObjectStore store, Faults faults, CloudNodes cloudNodes, Security security)
    {
        Security = security;
        _app = app;
        _cloudNodes = cloudNodes;
        Store = store;
        Faults = faults;
    }

    /// <summary>The objects.</summary>
    public ObjectStore Store { get; }

    /// <summary>Fault injection.</summary>
    public Faults Faults { get; }

    /// <summary>Tokens and RBAC.</summary>
    public Security Security { get; }

    /// <summary>The serving certificate when the server speaks HTTPS (with RBAC on), else null. Clients trust it as their CA.</summary>
    public X509Certificate2? Certificate { get; private init; }

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
        var security = new Security(store, options.Rbac);
        var handler = new ApiHandler(store, options, time, faults, security);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // kubectl sends credentials only over TLS, so a server that checks them serves HTTPS.
        var certificate = options.Rbac ? SelfSignedCertificate() : null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, options.Port, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
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
        var server = new LocalKubeServer(app, store, faults, cloudNodes, security) { Certificate = certificate };
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>A kubeconfig that points kubectl and client libraries at the server.</summary>
    /// <param name="token">Bearer token to use; by default the administrator's when RBAC is on.</param>
    /// <returns>YAML text.</returns>
    public string Kubeconfig(string? token = null) =>
        $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: localkube
          cluster:
            server: {{Url.ToString().TrimEnd('/')}}{{CertificateAuthority()}}
        users:
        - name: localkube
          user: {{UserEntry(token ?? Security.AdminToken)}}
        contexts:
        - name: localkube
          context:
            cluster: localkube
            user: localkube
            namespace: default
        current-context: localkube

        """;

    private string CertificateAuthority() => Certificate is null
        ? ""
        : "\n    certificate-authority-data: " + Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(Certificate.ExportCertificatePem()));

    // A certificate for 127.0.0.1 and localhost that signs itself, valid for a week.
    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localkube", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));

        // Kestrel on Linux wants a certificate whose key was loaded from PKCS#12, not an ephemeral one.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static string UserEntry(string? token) => token is null ? "{}" : "{token: " + token + "}";

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
