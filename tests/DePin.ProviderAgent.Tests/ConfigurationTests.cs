using System.Collections;
using DePin.ProviderAgent.Capacity;
using DePin.ProviderAgent.Configuration;
using DePin.ProviderAgent.Pricing;

using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

public sealed class ConfigurationTests
{
    private static readonly Hashtable NoEnvironment = [];

    [Fact]
    public void Help_ExplainsEveryOption()
    {
        var help = OptionTable.Help();

        Assert.All(OptionTable.All, option =>
        {
            Assert.Contains(option.Flag + " ", help, StringComparison.Ordinal);
            Assert.Contains(option.Environment, help, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(option.Help));
        });
        Assert.Throws<HelpRequestedException>(() => ConfigurationLoader.Load(["--help"], NoEnvironment));
    }

    [Fact]
    public void FlagsBeatTheEnvironment_WhichBeatsTheFile()
    {
        using var directory = new AgentDirectory();
        Directory.CreateDirectory(directory.Data);
        var file = Path.Combine(directory.Data, "agent.yaml");
        File.WriteAllText(file, """
            mode: static
            keyFile: /etc/key
            static:
              tokenFile: /etc/token
            evm:
              region: from-file
              attributes: tier=1
            pricing:
              cpuCoreHour: 0.2
              gpuHour:
                default: 2
                nvidia-a100: 3.5
              denyTenants: [0x70997970C51812dc3A010C7d01b50e0d17dc79C8]
            runtime:
              images:
                "example.org/web:1.0": /bin/sh
            """);
        var environment = new Hashtable { ["DEPIN_AGENT_EVM_REGION"] = "from-env", ["DEPIN_AGENT_EVM_ATTRIBUTES"] = "tier=2" };

        var options = ConfigurationLoader.Load(["--config", file, "--evm-region", "from-flag"], environment);

        Assert.Equal(AgentMode.Static, options.Mode);
        Assert.Equal("from-flag", options.Region);
        Assert.Equal("tier=2", options.Attributes);
        Assert.Equal(0.2m, options.CpuCoreHour);
        Assert.Equal(3.5m, options.GpuHour["nvidia-a100"]);
        Assert.Single(options.DenyTenants);
        Assert.Equal("/bin/sh", options.Images["example.org/web:1.0"]);
    }

    [Fact]
    public void TheReadmesExample_IsAValidConfiguration()
    {
        var readme = File.ReadAllText(Testing.RepositoryPaths.Of("provider-agent", "README.md"));
        var start = readme.IndexOf("```yaml\n", StringComparison.Ordinal) + "```yaml\n".Length;
        using var directory = new Testing.AgentDirectory();
        Directory.CreateDirectory(directory.Data);
        var file = Path.Combine(directory.Data, "agent.yaml");
        File.WriteAllText(file, readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]);

        var options = ConfigurationLoader.Load(["--config", file], NoEnvironment);

        Assert.Equal(AgentMode.Evm, options.Mode);
        Assert.Equal("eu-central", options.Region);
        Assert.Equal(2.2m, options.GpuHour["nvidia-a100"]);
        Assert.Equal(2048, options.ReserveMemoryMiB);
    }

    [Fact]
    public void TheSampleConfigurationOfTheSystemdUnit_IsValid_AndTheUnitRunsIt()
    {
        var options = ConfigurationLoader.Load(["--config", Testing.RepositoryPaths.Of("provider-agent", "deploy", "agent.yaml")], NoEnvironment);

        Assert.Equal(AgentMode.Evm, options.Mode);
        Assert.Equal("/var/lib/depin-agent", options.DataDir);
        Assert.Equal("/etc/depin-agent/tls.crt", options.TlsCertFile);
        Assert.Equal(2048, options.ReserveMemoryMiB);
        var unit = File.ReadAllText(Testing.RepositoryPaths.Of("provider-agent", "deploy", "depin-agent.service"));
        Assert.Contains("ExecStart=/usr/bin/dotnet /opt/depin-agent/provider-agent.dll --config /etc/depin-agent/agent.yaml", unit, StringComparison.Ordinal);
        Assert.Contains($"ReadWritePaths={options.DataDir}", unit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--listen", "nowhere", "--listen: \"nowhere\" is not HOST:PORT")]
    [InlineData("--runtime-restart-backoff", "soon", "--runtime-restart-backoff: \"soon\" is not a positive duration")]
    [InlineData("--mode", "chain", "--mode: \"chain\" is not one of evm, static")]
    [InlineData("--pricing-minimum", "-1", "--pricing-minimum: \"-1\" is not a price")]
    [InlineData("--no-such-flag", "1", "unknown option \"--no-such-flag\"")]
    [InlineData("--runtime-images", "nginx:1.27=bin/nginx", "--runtime-images: \"nginx:1.27=bin/nginx\" is not IMAGE=PROGRAM with the program's absolute path")]
    [InlineData("--runtime-images", "nginx:1.27=/nonexistent/nginx", "--runtime-images: the program /nonexistent/nginx for nginx:1.27 does not exist")]
    public void BadValues_NameTheOptionAndTheProblem(string flag, string value, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(["--key-file", "k", "--mode", "static", "--static-token-file", "t", flag, value], NoEnvironment));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvmMode_NeedsItsChainSettings()
    {
        var error = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(["--key-file", "k"], NoEnvironment));

        Assert.Contains("--evm-rpc-url is required in evm mode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pricing_FollowsTheRates_TheFloor_AndTheCeiling()
    {
        var options = new AgentOptions
        {
            CpuCoreHour = 0.1m,
            MemoryGiBHour = 0.02m,
            StorageGiBHour = 0m,
            GpuHour = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase) { ["nvidia-a100"] = 2m },
            MinimumPriceHour = 0.05m,
            DenyTenants = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
        };
        var pricing = new PricingStrategy(options);
        var tenant = Ethereum.Address.Parse("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

        // 2 cores and 4 GiB: 0.2 + 0.08 = 0.28 tokens = 280000 units.
        Assert.Equal(280_000, pricing.Cost(new ResourceRequest(2000, 4096, 0)));
        Assert.Equal(50_000, pricing.Cost(new ResourceRequest(100, 64, 0)));
        Assert.Equal(2_100_000 + 10_000, pricing.Cost(new ResourceRequest(1000, 512, 0, 1, "nvidia-a100")));
        Assert.Equal(280_000, pricing.Price(new ResourceRequest(2000, 4096, 0), tenant, 280_000).PricePerReplicaHour);
        Assert.Contains("exceeds the maximum", pricing.Price(new ResourceRequest(2000, 4096, 0), tenant, 279_999).Refusal, StringComparison.Ordinal);
        Assert.Contains("deny list", pricing.Price(new ResourceRequest(100, 64, 0), Ethereum.Address.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), 1_000_000).Refusal, StringComparison.Ordinal);
        Assert.Contains("no price for GPU model nvidia-h100", pricing.Price(new ResourceRequest(100, 64, 0, 1, "nvidia-h100"), tenant, 10_000_000).Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void NvidiaSmiOutput_IsParsed()
    {
        var gpus = NvidiaSmi.Parse("NVIDIA A100-SXM4-80GB, 81920\nNVIDIA GeForce RTX 4090, 24564\nTesla T4, 15360\ngarbage\n");

        Assert.Equal([new GpuDevice("nvidia-a100", 81920), new GpuDevice("nvidia-rtx-4090", 24564), new GpuDevice("nvidia-t4", 15360)], gpus);
    }

    [Fact]
    public void TheLedger_NeverHandsOutMoreThanTheHostHas()
    {
        var ledger = new CapacityLedger(new HostCapacity(2000, 4096, 1000, [new GpuDevice("nvidia-a100", 81920)]));

        Assert.Null(ledger.TryReserve("bid:1", new ResourceRequest(1500, 1024, 0, 1, "nvidia-a100")));
        Assert.Contains("needs 1000m CPU, 500m free", ledger.TryReserve("bid:2", new ResourceRequest(1000, 1024, 0)), StringComparison.Ordinal);
        Assert.Contains("needs 1 GPU", ledger.TryReserve("bid:3", new ResourceRequest(100, 1, 0, 1, "nvidia-a100")), StringComparison.Ordinal);
        Assert.True(ledger.Transfer("bid:1", "lease:9"));
        Assert.False(ledger.Holds("bid:1"));
        Assert.True(ledger.Release("lease:9"));
        Assert.Null(ledger.TryReserve("bid:2", new ResourceRequest(2000, 4096, 1000, 1, "nvidia-a100")));
    }

    [Fact]
    public void TheLedger_CountsAndReservesAsManyReplicasAsFit()
    {
        var ledger = new CapacityLedger(new HostCapacity(4000, 4096, 0, [new GpuDevice("nvidia-a100", 81920), new GpuDevice("nvidia-l4", 24576)]));

        Assert.Equal(3, ledger.FitCount(new ResourceRequest(1000, 1024, 0), most: 3));
        Assert.Equal(4, ledger.FitCount(new ResourceRequest(1000, 1024, 0), most: 10));
        Assert.Equal(1, ledger.FitCount(new ResourceRequest(100, 1, 0, 1, "nvidia-l4"), most: 10));
        Assert.Equal(3, ledger.ReserveUpTo("bid:1", new ResourceRequest(1000, 1000, 0), most: 3));
        Assert.Equal(3000, ledger.Used().CpuMillis);
        Assert.Equal(1, ledger.ReserveUpTo("bid:2", new ResourceRequest(1000, 1000, 0), most: 5));
        Assert.Equal(0, ledger.ReserveUpTo("bid:3", new ResourceRequest(1000, 1, 0), most: 5));
        Assert.False(ledger.Holds("bid:3"));
    }
}
