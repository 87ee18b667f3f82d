using System.Net;
using DePin.Ethereum;
using DePin.ProviderAgent.Configuration;

namespace DePin.ProviderAgent;

internal static partial class AgentLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "provider-agent {Address} ({Mode} mode) listening on {Listen}")]
    public static partial void Started(ILogger logger, Address address, AgentMode mode, IPEndPoint listen);
}
