using System.Globalization;
using System.Net;
using System.Text;

namespace DePin.ProviderAgent.Configuration;

/// <summary>One setting: its YAML key, flag, environment variable, default and help.</summary>
internal sealed record OptionSpec(string Key, string Value, string Help, Action<AgentOptions, string> Apply)
{
    /// <summary>The flag, for example <c>--evm-rpc-url</c>.</summary>
    public string Flag => "--" + string.Join("-", Key.Split('.').SelectMany(Words)).ToLowerInvariant();

    /// <summary>Whether the value is a list of KEY=VALUE pairs, which a YAML file may also write as a mapping.</summary>
    public bool IsMap => Value.Contains('=', StringComparison.Ordinal) && Value.EndsWith(",...", StringComparison.Ordinal);

    /// <summary>The environment variable, for example <c>DEPIN_AGENT_EVM_RPC_URL</c>.</summary>
    public string Environment => "DEPIN_AGENT_" + string.Join("_", Key.Split('.').SelectMany(Words)).ToUpperInvariant();

    private static IEnumerable<string> Words(string camel)
    {
        var word = new StringBuilder();
        foreach (var c in camel)
        {
            if (char.IsUpper(c) && word.Length > 0 && !char.IsUpper(word[^1]))
            {
                yield return word.ToString();
                word.Clear();
            }

            word.Append(c);
        }

        yield return word.ToString();
    }
}

/// <summary>Every setting of the agent. <c>--help</c> prints this table, so it documents every option.</summary>
internal static class OptionTable
{
    public static IReadOnlyList<OptionSpec> All { get; } =
    [
        new("listen", "HOST:PORT", "Address of the HTTP API (pods, quotes, heartbeat, metrics). Default 127.0.0.1:8443.", (o, v) => o.Listen = Endpoint(v)),
        new("dataDir", "DIR", "Where leases, pods, logs and the marketplace cursor are kept; they survive restarts. Default /var/lib/depin-agent.", (o, v) => o.DataDir = v),
        new("mode", "evm|static", "evm: take part in the DePinMarket contract. static: answer quotes and serve leases opened with the bearer token. Default evm.", (o, v) => o.Mode = Enum<AgentMode>(v)),
        new("keyFile", "FILE", "The provider's secp256k1 private key (64 hex digits). It signs heartbeats and, in evm mode, transactions. Required.", (o, v) => o.KeyFile = v),
        new("tls.certFile", "FILE", "PEM certificate: serve HTTPS instead of HTTP.", (o, v) => o.TlsCertFile = v),
        new("tls.keyFile", "FILE", "PEM private key of the certificate.", (o, v) => o.TlsKeyFile = v),
        new("maxBodyBytes", "N", "Largest request body accepted. Default 1048576.", (o, v) => o.MaxBodyBytes = Positive(v)),
        new("evm.rpcUrl", "URL", "JSON-RPC endpoint of the chain (evm mode). Required in evm mode.", (o, v) => o.RpcUrl = v),
        new("evm.marketAddress", "ADDRESS", "Address of the DePinMarket contract. Required in evm mode.", (o, v) => o.MarketAddress = v),
        new("evm.paymentToken", "ADDRESS", "Bid only on orders paid in this token; empty for any.", (o, v) => o.PaymentToken = v),
        new("evm.endpoint", "URL", "The URL tenants reach this agent at, registered on the chain. Required in evm mode.", (o, v) => o.Endpoint = v),
        new("evm.region", "NAME", "Region registered on the chain, for example eu-central.", (o, v) => o.Region = v),
        new("evm.attributes", "K=V,...", "Attributes registered on the chain, for example tier=3,ssd=true.", (o, v) => o.Attributes = v),
        new("evm.confirmations", "N", "Blocks before an order event is acted on. Default 0.", (o, v) => o.Confirmations = (int)NonNegative(v)),
        new("evm.pollInterval", "DURATION", "How often the chain is read. Default 2s.", (o, v) => o.PollInterval = Duration(v)),
        new("evm.withdrawInterval", "DURATION", "How often earnings are withdrawn and lease escrow checked. Default 1h.", (o, v) => o.WithdrawInterval = Duration(v)),
        new("evm.acceptGrace", "DURATION", "How long after an order's bid deadline capacity stays held for an open bid. Default 10m.", (o, v) => o.AcceptGrace = Duration(v)),
        new("evm.startBlock", "N", "First block to read orders from when no cursor is saved yet. Default 0.", (o, v) => o.StartBlock = NonNegative(v)),
        new("static.tokenFile", "FILE", "File holding the bearer token the operator presents (static mode). Required in static mode.", (o, v) => o.TokenFile = v),
        new("capacity.cpu", "CORES", "CPU cores offered instead of the host's count.", (o, v) => o.CpuCores = PositiveDouble(v)),
        new("capacity.memory", "MiB", "Memory offered instead of the host's total.", (o, v) => o.MemoryMiB = Positive(v)),
        new("capacity.disk", "MiB", "Disk offered instead of the data folder's free space.", (o, v) => o.DiskMiB = Positive(v)),
        new("capacity.gpus", "MODEL:MiB,...", "GPUs offered instead of what nvidia-smi reports, one entry per GPU, for example nvidia-a100:81920,nvidia-a100:81920.", (o, v) => o.Gpus = List(v)),
        new("capacity.reserveCpu", "CORES", "CPU kept for the host and never offered. Default 0.", (o, v) => o.ReserveCpuCores = NonNegativeDouble(v)),
        new("capacity.reserveMemory", "MiB", "Memory kept for the host. Default 0.", (o, v) => o.ReserveMemoryMiB = NonNegative(v)),
        new("capacity.reserveDisk", "MiB", "Disk kept for the host. Default 0.", (o, v) => o.ReserveDiskMiB = NonNegative(v)),
        new("pricing.tokenDecimals", "N", "Decimals of the payment token. Default 6.", (o, v) => o.TokenDecimals = (int)NonNegative(v)),
        new("pricing.cpuCoreHour", "PRICE", "Price of one CPU core for an hour, in tokens. Default 0.05.", (o, v) => o.CpuCoreHour = Price(v)),
        new("pricing.memoryGibHour", "PRICE", "Price of 1 GiB of memory for an hour. Default 0.01.", (o, v) => o.MemoryGiBHour = Price(v)),
        new("pricing.storageGibHour", "PRICE", "Price of 1 GiB of disk for an hour. Default 0.0002.", (o, v) => o.StorageGiBHour = Price(v)),
        new("pricing.gpuHour", "MODEL=PRICE,...", "Price of one GPU for an hour by model; 'default' prices other models. Default default=1.5.", (o, v) => o.GpuHour = Prices(v)),
        new("pricing.minimum", "PRICE", "No replica is offered for less per hour, whatever it needs. Default 0.01.", (o, v) => o.MinimumPriceHour = Price(v)),
        new("pricing.allowTenants", "ADDRESS,...", "Bid only for these tenants; empty for everyone.", (o, v) => o.AllowTenants = List(v)),
        new("pricing.denyTenants", "ADDRESS,...", "Never bid for these tenants.", (o, v) => o.DenyTenants = List(v)),
        new("runtime.kind", "process|docker", "How pods run: process runs each container's command as a host process in its own process group (no isolation beyond the agent's user); docker runs containers through the Docker Engine API. Default process.", (o, v) => o.Runtime = Enum<RuntimeKind>(v)),
        new("runtime.images", "IMAGE=PROGRAM,...", "For the process runtime: the host program that stands for an image, run when a container of that image sets no command (its args follow). Default none.", (o, v) => o.Images = Programs(v)),
        new("runtime.dockerSocket", "PATH", "The Docker Engine socket, for the docker runtime. Default /var/run/docker.sock.", (o, v) => o.DockerSocket = v),
        new("runtime.restartBackoff", "DURATION", "First delay before a crashed container restarts; it doubles up to the maximum. Default 1s.", (o, v) => o.RestartBackoff = Duration(v)),
        new("runtime.restartBackoffMax", "DURATION", "Longest restart delay. Default 5m.", (o, v) => o.RestartBackoffMax = Duration(v)),
        new("runtime.terminationGrace", "DURATION", "Time between SIGTERM and SIGKILL when a pod is deleted, unless the pod sets its own. Default 10s.", (o, v) => o.TerminationGrace = Duration(v)),
        new("runtime.logMaxBytes", "N", "A container's log is rotated beyond this size. Default 10485760.", (o, v) => o.LogMaxBytes = Positive(v)),
        new("runtime.logFiles", "N", "Rotated log files kept per container. Default 3.", (o, v) => o.LogFiles = (int)Positive(v)),
        new("runtime.statusInterval", "DURATION", "How often container processes are checked. Default 200ms.", (o, v) => o.StatusInterval = Duration(v)),
        new("heartbeatInterval", "DURATION", "Interval of the streamed heartbeat. Default 500ms.", (o, v) => o.HeartbeatInterval = Duration(v)),
    ];

    public static string Help()
    {
        var text = new StringBuilder();
        text.AppendLine("provider-agent: runs leased pods for a DePIN marketplace, bids on orders and answers signed heartbeats.");
        text.AppendLine();
        text.AppendLine("usage: provider-agent [--config FILE] [--OPTION VALUE ...]");
        text.AppendLine();
        text.AppendLine("Settings come from a YAML file (--config, or DEPIN_AGENT_CONFIG), then the environment, then flags;");
        text.AppendLine("a later source wins. In the YAML file, a key like evm.rpcUrl is written nested (evm: {rpcUrl: ...}),");
        text.AppendLine("and a KEY=VALUE,... setting may be a mapping (gpuHour: {nvidia-a100: 2.2}).");
        text.AppendLine("Durations are written 500ms, 30s, 10m or 1h; prices are decimal amounts of the payment token.");
        text.AppendLine();
        foreach (var option in All)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {option.Flag} {option.Value}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"      {option.Help}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"      yaml: {option.Key}   env: {option.Environment}").AppendLine();
        }

        text.AppendLine("  --config FILE");
        text.AppendLine("      The YAML file to read first.   env: DEPIN_AGENT_CONFIG");
        text.AppendLine("  --help");
        text.AppendLine("      Print this text.");
        return text.ToString();
    }

    internal static IPEndPoint Endpoint(string value) =>
        IPEndPoint.TryParse(value, out var endpoint) && endpoint.Port > 0 ? endpoint : throw new FormatException($"\"{value}\" is not HOST:PORT with an IP address and a port");

    internal static TimeSpan Duration(string value)
    {
        var units = new (string Suffix, double Seconds)[] { ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600) };
        foreach (var (suffix, seconds) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(value[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }

        throw new FormatException($"\"{value}\" is not a positive duration such as 500ms, 30s, 10m or 1h");
    }

    private static T Enum<T>(string value)
        where T : struct, System.Enum =>
        System.Enum.TryParse<T>(value, ignoreCase: true, out var result) && System.Enum.IsDefined(result) && !char.IsDigit(value[0])
            ? result
            : throw new FormatException($"\"{value}\" is not one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    private static long Positive(string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new FormatException($"\"{value}\" is not a positive whole number");

    private static long NonNegative(string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"\"{value}\" is not a whole number of zero or more");

    private static double PositiveDouble(string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new FormatException($"\"{value}\" is not a positive number");

    private static double NonNegativeDouble(string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"\"{value}\" is not a number of zero or more");

    private static decimal Price(string value) =>
        decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"\"{value}\" is not a price (a decimal of zero or more)");

    private static List<string> List(string value) => [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static Dictionary<string, string> Programs(string value)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in List(value))
        {
            var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || !Path.IsPathFullyQualified(parts[1]))
            {
                throw new FormatException($"\"{entry}\" is not IMAGE=PROGRAM with the program's absolute path");
            }

            result[parts[0]] = parts[1];
        }

        return result;
    }

    private static Dictionary<string, decimal> Prices(string value)
    {
        var result = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in List(value))
        {
            var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0)
            {
                throw new FormatException($"\"{entry}\" is not MODEL=PRICE");
            }

            result[parts[0]] = Price(parts[1]);
        }

        return result;
    }
}
