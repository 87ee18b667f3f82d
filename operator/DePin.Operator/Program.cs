using System.Net;
using DePin.Api.V1Alpha1;
using DePin.Operator;
using DePin.Operator.Controllers;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Hosting;
using DePin.Runtime.Informers;
using DePin.Runtime.Leadership;
using DePin.Runtime.Resilience;
using k8s;

// The DePIN operator. Configuration: KUBECONFIG (or the in-cluster service account), and
//   --listen HOST:PORT      /healthz, /readyz and /metrics (default 0.0.0.0:8080)
//   --leader-elect          run with leader election (two replicas), in POD_NAMESPACE as POD_NAME
if (args.Contains("--help"))
{
    Console.WriteLine("""
        depin-operator: runs DePinDeployments on decentralized compute marketplaces.

          --listen HOST:PORT   serve /healthz, /readyz and /metrics here (default 0.0.0.0:8080)
          --leader-elect       elect a leader through a Lease in POD_NAMESPACE, as POD_NAME, so that two replicas can run

        The cluster is reached through KUBECONFIG, or the in-cluster service account when it is not set.
        """);
    return 0;
}

var listen = OperatorArgs.Value(args, "--listen") is { } text
    ? IPEndPoint.TryParse(text, out var parsed) ? parsed : null
    : new IPEndPoint(IPAddress.Any, 8080);
if (listen is null)
{
    await Console.Error.WriteLineAsync("depin-operator: --listen is not HOST:PORT");
    return 2;
}

KubernetesClientConfiguration config;
try
{
    config = KubeConfig.Load();
}
catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or InvalidOperationException)
{
    await Console.Error.WriteLineAsync($"depin-operator: cannot reach the cluster: {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(listen));
var services = builder.Services;
services.AddOperatorTelemetry();
services.AddSingleton(TimeProvider.System);
services.AddSingleton<IKubernetes>(new Kubernetes(config, new KubernetesApiResilience()));
services.AddSingleton(new HttpClient());
services.AddSingleton<MarketplaceConnector>();
services.AddSingleton(provider => ResourceApi.Custom<DePinMarketplace>(provider.GetRequiredService<IKubernetes>()));
services.AddSingleton(provider => new Informer<DePinMarketplace>(provider.GetRequiredService<IResourceApi<DePinMarketplace>>(), new InformerOptions { Name = "depinmarketplaces" }, logger: provider.GetRequiredService<ILogger<Informer<DePinMarketplace>>>()));
services.AddSingleton(provider => new StatusWriter<DePinMarketplace>(provider.GetRequiredService<IResourceApi<DePinMarketplace>>()));
services.AddSingleton<MarketplaceReconciler>();
services.AddHostedService(provider =>
{
    var informer = provider.GetRequiredService<Informer<DePinMarketplace>>();
    var api = provider.GetRequiredService<IResourceApi<DePinMarketplace>>();
    LeaderElector? elector = null;
    if (args.Contains("--leader-elect"))
    {
        elector = new LeaderElector(provider.GetRequiredService<IKubernetes>(), new LeaderElectionOptions
        {
            LeaseName = "depin-operator",
            Namespace = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "depin-system",
            Identity = Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName,
        }, logger: provider.GetRequiredService<ILogger<LeaderElector>>());
    }

    return new ControllerManager(
        [informer],
        () => [new Controller<DePinMarketplace>(informer, api, provider.GetRequiredService<MarketplaceReconciler>(), new ControllerOptions { Name = "depinmarketplace.status" }, logger: provider.GetRequiredService<ILogger<Controller<DePinMarketplace>>>())],
        provider.GetRequiredService<Readiness>(),
        elector);
});

var app = builder.Build();
app.MapOperatorEndpoints();
await app.RunAsync();
return 0;
