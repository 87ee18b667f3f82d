using DePin.Ethereum;
using DePin.ProviderAgent;
using DePin.ProviderAgent.Api;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pods;
using DePin.ProviderAgent.Pricing;
using DePin.ProviderAgent.Runtime;
using DePin.ProviderAgent.State;
using OpenTelemetry.Metrics;

AgentOptions options;
PrivateKey key;
StateStore store;
HostCapacity capacity;
try
{
    options = ConfigurationLoader.Load(args, Environment.GetEnvironmentVariables());
    key = PrivateKey.FromFile(options.KeyFile);
    try
    {
        store = new StateStore(options.DataDir);
        capacity = HostCapacity.Detect(options);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        throw new ConfigurationException($"--data-dir {options.DataDir} cannot be used: {e.Message}");
    }
}
catch (HelpRequestedException)
{
    Console.Write(OptionTable.Help());
    return 0;
}
catch (Exception e) when (e is ConfigurationException or FormatException or IOException or UnauthorizedAccessException)
{
    await Console.Error.WriteLineAsync($"provider-agent: {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes + 1;
    kestrel.Listen(options.Listen, listen =>
    {
        if (options.TlsCertFile is not null)
        {
            listen.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(options.TlsCertFile, options.TlsKeyFile));
        }
    });
});

var services = builder.Services;
services.AddSingleton(options);
services.AddSingleton(key);
services.AddSingleton(TimeProvider.System);
services.AddSingleton(store);
services.AddSingleton(capacity);
services.AddSingleton<CapacityLedger>();
if (options.Runtime == RuntimeKind.Docker)
{
    services.AddSingleton<IPodRuntime>(new DockerRuntime(options.DockerSocket));
}
else
{
    services.AddSingleton<IPodRuntime, ProcessRuntime>();
}

services.AddSingleton<ContainerProber>();
services.AddSingleton<PodManager>();
services.AddHostedService(provider => provider.GetRequiredService<PodManager>());
services.AddSingleton<RequestGuard>();
services.AddSingleton<PricingStrategy>();
services.AddSingleton<AgentMetrics>();
if (options.Mode == AgentMode.Evm)
{
    services.AddHostedService<DePin.ProviderAgent.Market.MarketParticipant>();
}

services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(AgentMetrics.MeterName, "DePin.Ethereum.*").AddPrometheusExporter());

var app = builder.Build();
try
{
    app.Services.GetRequiredService<AgentMetrics>();
    app.Services.GetRequiredService<RequestGuard>();
}
catch (Exception e) when (e is ConfigurationException or IOException or UnauthorizedAccessException or InvalidOperationException)
{
    await Console.Error.WriteLineAsync($"provider-agent: {e.Message}");
    return 2;
}

AgentApi.Map(app);
app.MapPrometheusScrapingEndpoint("/metrics");
AgentLog.Started(app.Logger, key.Address, options.Mode, options.Listen);
await app.RunAsync();
return 0;
