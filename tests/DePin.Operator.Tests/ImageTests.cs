using DePin.Testing;

namespace DePin.Operator.Tests;

/// <summary>The Dockerfiles of the operator and the agent, built with a real Docker engine where there is one.</summary>
public sealed class ImageTests
{
    [DockerFact]
    public async Task TheOperatorImage_BuiltAsTheChartReadmeShows_RunsAsNonRoot_AndAnswersHelp()
    {
        var build = DocumentedCommands.Words(DocumentedCommands.Inline("charts/depin-operator/README.md", "docker build -f operator/Dockerfile"));
        Assert.Equal(["docker", "build", "-f", "operator/Dockerfile", "-t"], build.Take(5));
        Assert.Equal(["."], build.Skip(6));
        await ImageAsync("operator/Dockerfile", build[5], "depin-operator: runs DePinDeployments");
    }

    [DockerFact]
    public async Task TheAgentImage_Builds_RunsAsNonRoot_AndAnswersHelp()
    {
        await ImageAsync("provider-agent/Dockerfile", "provider-agent:test", "--config");
    }

    private static async Task ImageAsync(string dockerfile, string tag, string helpText)
    {
        await DockerAsync("build", "-f", dockerfile, "-t", tag, ".");
        Assert.Equal("1654:1654", (await DockerAsync("image", "inspect", "--format", "{{.Config.User}}", tag)).Trim());
        Assert.Contains(helpText, await DockerAsync("run", "--rm", tag, "--help"), StringComparison.Ordinal);
    }

    // An image build pulls base images and restores packages: minutes, not seconds.
    private static async Task<string> DockerAsync(params string[] arguments)
    {
        var result = await CommandLine.RunAsync("docker", arguments, new CommandOptions { Timeout = TimeSpan.FromMinutes(15) });
        return result.Exit == 0 ? result.Output + result.Error : throw new InvalidOperationException($"docker {string.Join(' ', arguments)} exited with {result.Exit}: {result.Error}");
    }
}
