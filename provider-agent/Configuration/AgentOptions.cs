using System.Net;

namespace DePin.ProviderAgent.Configuration;

/// <summary>How the agent takes part in a marketplace.</summary>
internal enum AgentMode
{
    /// <summary>On an EVM chain: registers, bids on orders and serves leases of the DePinMarket contract.</summary>
    Evm,

    /// <summary>In a static fleet: answers quotes and serves leases the operator opens with a bearer token.</summary>
    Static,
}

/// <summary>Which runtime runs pods.</summary>
internal enum RuntimeKind
{
    /// <summary>Each container's command as a host process in its own process group.</summary>
    Process,

    /// <summary>Containers through the Docker Engine API on a unix socket.</summary>
    Docker,
}

/// <summary>The agent's settings, from the YAML file, the environment and flags (in rising precedence).</summary>
internal sealed class AgentOptions
{
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 8443);

    public string DataDir { get; set; } = "/var/lib/depin-agent";

    public AgentMode Mode { get; set; } = AgentMode.Evm;

    public string KeyFile { get; set; } = "";

    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    public string? RpcUrl { get; set; }

    public string? MarketAddress { get; set; }

    public string? PaymentToken { get; set; }

    public string Endpoint { get; set; } = "";

    public string Region { get; set; } = "";

    public string Attributes { get; set; } = "";

    public int Confirmations { get; set; }

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan WithdrawInterval { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan AcceptGrace { get; set; } = TimeSpan.FromMinutes(10);

    public long StartBlock { get; set; }

    public string? TokenFile { get; set; }

    public double? CpuCores { get; set; }

    public long? MemoryMiB { get; set; }

    public long? DiskMiB { get; set; }

    public IReadOnlyList<string>? Gpus { get; set; }

    public double ReserveCpuCores { get; set; }

    public long ReserveMemoryMiB { get; set; }

    public long ReserveDiskMiB { get; set; }

    public int TokenDecimals { get; set; } = 6;

    public decimal CpuCoreHour { get; set; } = 0.05m;

    public decimal MemoryGiBHour { get; set; } = 0.01m;

    public decimal StorageGiBHour { get; set; } = 0.0002m;

    public IReadOnlyDictionary<string, decimal> GpuHour { get; set; } = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase) { ["default"] = 1.5m };

    public decimal MinimumPriceHour { get; set; } = 0.01m;

    public IReadOnlyList<string> AllowTenants { get; set; } = [];

    public IReadOnlyList<string> DenyTenants { get; set; } = [];

    public RuntimeKind Runtime { get; set; } = RuntimeKind.Process;

    /// <summary>For the process runtime: image reference to the absolute path of the program that stands for it.</summary>
    public IReadOnlyDictionary<string, string> Images { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string DockerSocket { get; set; } = "/var/run/docker.sock";

    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RestartBackoffMax { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan TerminationGrace { get; set; } = TimeSpan.FromSeconds(10);

    public long LogMaxBytes { get; set; } = 10 * 1024 * 1024;

    public int LogFiles { get; set; } = 3;

    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
