using System.Net;
using DePin.Api.V1Alpha1;
using DePin.Operator;
using DePin.Operator.Controllers;
using DePin.Operator.Deployments;
using DePin.Operator.Health;
using DePin.Operator.Marketplaces;
using DePin.Runtime.Controllers;
using DePin.Runtime.Events;
using DePin.Runtime.Hosting;
using DePin.Runtime.Informers;
using DePin.Runtime.Leadership;
using DePin.Runtime.Resilience;
using k8s;
using k8s.Models;

// The DePIN operator. Configuration: KUBECONFIG (or the in-cluster service account), and
//   --listen HOST:PORT      /healthz, /readyz and /metrics (default 0.0.0.0:8080)
//   --leader-elect          run with leader election (two replicas), in POD_NAMESPACE as POD_NAME
//   --workers N             keys each controller reconciles at once (default 4)
if (args.Contains("--help"))
{
    Console.WriteLine("""
        depin-operator: runs DePinDeployments on decentralized compute marketplaces.

          --listen HOST:PORT   serve /healthz, /readyz and /metrics here (default 0.0.0.0:8080)
          --leader-elect       elect a leader through a Lease in POD_NAMESPACE, as POD_NAME, so that two replicas can run
          --workers N          keys each controller reconciles at once (default 4)

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

var workers = 4;
if (OperatorArgs.Value(args, "--workers") is { } workersText && (!int.TryParse(workersText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 64))
{
    await Console.Error.WriteLineAsync("depin-operator: --workers is not a number from 1 to 64");
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

const string UidIndex = "uid";
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
services.AddSingleton<IEnvironmentSource, ApiEnvironmentSource>();
services.AddSingleton(provider => new EventRecorder(provider.GetRequiredService<IKubernetes>(), new EventRecorderOptions { Component = "depin-operator" }, logger: provider.GetRequiredService<ILogger<EventRecorder>>()));
AddInformer(services, "depinmarketplaces", kube => ResourceApi.Custom<DePinMarketplace>(kube));
AddInformer(services, "depindeployments", kube => ResourceApi.Custom<DePinDeployment>(kube));
AddInformer(services, "depinleases", kube => ResourceApi.Custom<DePinLease>(kube), informer =>
{
    informer.Cache.AddIndex(PodReconciler.LeaseNodeIndex, lease => [Names.Node(lease.Spec.Marketplace, lease.Spec.LeaseId)]);
    informer.Cache.AddIndex(UidIndex, lease => [lease.Metadata.Uid]);
});

// Only the operator's own pods and virtual nodes are cached, however big the cluster.
AddInformer(services, "pods", kube => ResourceApi.Pods(kube, Names.DeploymentUidLabel), informer => informer.Cache.AddNodeNameIndex());
AddInformer(services, "nodes", kube => ResourceApi.Nodes(kube, Names.LeaseLabel));
services.AddSingleton<LeaseHealthRegistry>();
services.AddSingleton<ProviderReputation>();
services.AddSingleton<LeaseMonitor>();
services.AddSingleton<MarketplaceReconciler>();
services.AddSingleton<DeploymentReconciler>();
services.AddSingleton<LeaseReconciler>();
services.AddSingleton<PodReconciler>();
services.AddHostedService(provider =>
{
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

    var marketplaces = provider.GetRequiredService<Informer<DePinMarketplace>>();
    var deployments = provider.GetRequiredService<Informer<DePinDeployment>>();
    var leases = provider.GetRequiredService<Informer<DePinLease>>();
    var pods = provider.GetRequiredService<Informer<V1Pod>>();
    var nodes = provider.GetRequiredService<Informer<V1Node>>();
    Controller<T> Build<T>(Informer<T> informer, IReconciler<T> reconciler, string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        new(informer, provider.GetRequiredService<IResourceApi<T>>(), reconciler, new ControllerOptions { Name = name, Workers = workers }, logger: provider.GetRequiredService<ILogger<Controller<T>>>());

    return new ControllerManager(
        [marketplaces, deployments, leases, pods, nodes],
        () =>
        {
            var deploymentController = Build(deployments, provider.GetRequiredService<DeploymentReconciler>(), "depindeployment.auction");
            deploymentController.Watch(leases, change => Owners(change.Item));
            deploymentController.Watch(pods, change => Owners(change.Item));
            var leaseController = Build(leases, provider.GetRequiredService<LeaseReconciler>(), "depinlease.node");

            // A lease whose health changes is reconciled at once, and so is its deployment, which moves the replicas.
            leaseController.Track(provider.GetRequiredService<LeaseHealthRegistry>().Subscribe(uid =>
            {
                foreach (var lease in leases.Cache.ByIndex(UidIndex, uid))
                {
                    leaseController.Queue.Add(ObjectKey.Of(lease));
                    foreach (var owner in Owners(lease))
                    {
                        deploymentController.Queue.Add(owner);
                    }
                }
            }));
            return
            [
                provider.GetRequiredService<LeaseMonitor>(),
                Build(marketplaces, provider.GetRequiredService<MarketplaceReconciler>(), "depinmarketplace.status"),
                deploymentController,
                leaseController,
                Build(pods, provider.GetRequiredService<PodReconciler>(), "pod.provider"),
            ];
        },
        provider.GetRequiredService<Readiness>(),
        elector);
});

var app = builder.Build();
app.MapOperatorEndpoints();
await app.RunAsync();
return 0;

// The DePinDeployments an object belongs to, as work-queue keys.

static IEnumerable<string> Owners(IKubernetesObject<V1ObjectMeta> item) =>
    (item.Metadata.OwnerReferences ?? []).Where(o => o.Kind == DePinDeployment.KubeKind).Select(o => ObjectKey.Of(item.Metadata.NamespaceProperty, o.Name));

// One shared informer (and its API) per type.
static void AddInformer<T>(IServiceCollection services, string name, Func<IKubernetes, IResourceApi<T>> api, Action<Informer<T>>? configure = null)
    where T : IKubernetesObject<V1ObjectMeta>
{
    services.AddSingleton(provider => api(provider.GetRequiredService<IKubernetes>()));
    services.AddSingleton(provider =>
    {
        var informer = new Informer<T>(provider.GetRequiredService<IResourceApi<T>>(), new InformerOptions { Name = name }, logger: provider.GetRequiredService<ILogger<Informer<T>>>());
        configure?.Invoke(informer);
        return informer;
    });
    services.AddSingleton(provider => new StatusWriter<T>(provider.GetRequiredService<IResourceApi<T>>()));
}
