using System.Collections;
using YamlDotNet.RepresentationModel;

namespace DePin.ProviderAgent.Configuration;

/// <summary>The command line asked for help instead of a run.</summary>
internal sealed class HelpRequestedException : Exception
{
    public HelpRequestedException()
        : base("help requested")
    {
    }

    public HelpRequestedException(string message)
        : base(message)
    {
    }

    public HelpRequestedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A setting is missing or invalid; the message names it and says what is wrong.</summary>
internal sealed class ConfigurationException : Exception
{
    public ConfigurationException()
    {
    }

    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Reads the settings from the YAML file, the environment and the flags, in rising precedence.</summary>
internal static class ConfigurationLoader
{
    public static AgentOptions Load(IReadOnlyList<string> args, IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var flags = ParseFlags(args);
        var configFile = flags.GetValueOrDefault("--config") ?? environment["DEPIN_AGENT_CONFIG"] as string;
        var options = new AgentOptions();
        if (configFile is not null)
        {
            foreach (var (key, value) in ReadYaml(configFile))
            {
                Apply(options, key, value, $"{configFile}: {key}");
            }
        }

        foreach (var option in OptionTable.All)
        {
            if (environment[option.Environment] is string value && value.Length > 0)
            {
                Apply(options, option.Key, value, option.Environment);
            }
        }

        foreach (var option in OptionTable.All)
        {
            if (flags.TryGetValue(option.Flag, out var value))
            {
                Apply(options, option.Key, value, option.Flag);
            }
        }

        Validate(options);
        return options;
    }

    private static Dictionary<string, string> ParseFlags(IReadOnlyList<string> args)
    {
        var known = OptionTable.All.Select(o => o.Flag).Append("--config").ToHashSet(StringComparer.Ordinal);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                throw new HelpRequestedException();
            }

            var (name, value) = arg.Split('=', 2) is [var n, var v] ? (n, (string?)v) : (arg, null);
            if (!known.Contains(name))
            {
                throw new ConfigurationException($"unknown option \"{name}\"; see --help");
            }

            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw new ConfigurationException($"{name} needs a value");
                }

                value = args[++i];
            }

            result[name] = value;
        }

        return result;
    }

    private static IEnumerable<(string Key, string Value)> ReadYaml(string path)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            throw new ConfigurationException($"cannot read the configuration file {path}: {e.Message}");
        }

        if (stream.Documents.Count == 0)
        {
            yield break;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigurationException($"{path}: the configuration is not a YAML mapping");
        }

        var keys = OptionTable.All.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in Flatten(root, ""))
        {
            if (!keys.Contains(entry.Key))
            {
                throw new ConfigurationException($"{path}: unknown setting \"{entry.Key}\"; see --help");
            }

            yield return entry;
        }
    }

    // Settings written KEY=VALUE,... that a YAML file may also write as a mapping.
    private static readonly HashSet<string> Maps = OptionTable.All.Where(o => o.IsMap).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

    private static IEnumerable<(string Key, string Value)> Flatten(YamlMappingNode mapping, string prefix)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = prefix + ((YamlScalarNode)keyNode).Value;
            switch (valueNode)
            {
                case YamlMappingNode nested when Maps.Contains(key):
                    yield return (key, string.Join(",", nested.Children.Select(c => $"{((YamlScalarNode)c.Key).Value}={((YamlScalarNode)c.Value).Value}")));
                    break;
                case YamlMappingNode nested:
                    foreach (var entry in Flatten(nested, key + "."))
                    {
                        yield return entry;
                    }

                    break;
                case YamlSequenceNode sequence:
                    yield return (key, string.Join(",", sequence.Children.Select(c => ((YamlScalarNode)c).Value)));
                    break;
                case YamlScalarNode scalar:
                    yield return (key, scalar.Value ?? "");
                    break;
                default:
                    throw new ConfigurationException($"setting \"{key}\" has an unsupported YAML form");
            }
        }
    }

    private static void Apply(AgentOptions options, string key, string value, string source)
    {
        var option = OptionTable.All.First(o => o.Key == key);
        try
        {
            option.Apply(options, value);
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{source}: {e.Message}");
        }
    }

    private static void Validate(AgentOptions options)
    {
        if (options.KeyFile.Length == 0)
        {
            throw new ConfigurationException("--key-file is required: the provider key signs heartbeats and transactions");
        }

        if ((options.TlsCertFile is null) != (options.TlsKeyFile is null))
        {
            throw new ConfigurationException("--tls-cert-file and --tls-key-file go together");
        }

        if (options.Mode == AgentMode.Evm)
        {
            foreach (var (value, flag) in new[] { (options.RpcUrl, "--evm-rpc-url"), (options.MarketAddress, "--evm-market-address"), (options.Endpoint, "--evm-endpoint") })
            {
                if (string.IsNullOrEmpty(value))
                {
                    throw new ConfigurationException($"{flag} is required in evm mode");
                }
            }

            Parse(() => Ethereum.Address.Parse(options.MarketAddress!), "--evm-market-address");
            if (!string.IsNullOrEmpty(options.PaymentToken))
            {
                Parse(() => Ethereum.Address.Parse(options.PaymentToken), "--evm-payment-token");
            }

            if (!Uri.TryCreate(options.RpcUrl, UriKind.Absolute, out _))
            {
                throw new ConfigurationException("--evm-rpc-url is not an absolute URL");
            }
        }
        else if (string.IsNullOrEmpty(options.TokenFile))
        {
            throw new ConfigurationException("--static-token-file is required in static mode");
        }

        if (options.Runtime == RuntimeKind.Docker && !File.Exists(options.DockerSocket))
        {
            throw new ConfigurationException($"the docker runtime is configured, but there is no Docker Engine socket at {options.DockerSocket} (--runtime-docker-socket)");
        }

        if (options.Images.Count > 0 && options.Runtime != RuntimeKind.Process)
        {
            throw new ConfigurationException("--runtime-images maps images to host programs for the process runtime; the docker runtime pulls the images themselves");
        }

        foreach (var (image, program) in options.Images)
        {
            if (!File.Exists(program))
            {
                throw new ConfigurationException($"--runtime-images: the program {program} for {image} does not exist");
            }
        }

        foreach (var tenant in options.AllowTenants.Concat(options.DenyTenants))
        {
            Parse(() => Ethereum.Address.Parse(tenant), "--pricing-allow-tenants / --pricing-deny-tenants");
        }
    }

    private static void Parse(Action parse, string flag)
    {
        try
        {
            parse();
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{flag}: {e.Message}");
        }
    }
}
