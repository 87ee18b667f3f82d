using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

/// <summary>The bare-metal install of the provider guide: the agent published as the guide shows, then run as the agent's README shows.</summary>
public sealed class PublishTests
{
    [Fact]
    public async Task ThePublishOfTheProviderGuide_GivesAnAgentWhoseHelpListsEveryOption()
    {
        // The guide publishes to /opt/depin-agent; a reader may pick any folder, and the test picks its own.
        var publish = DocumentedCommands.Inline("docs/providers.md", "dotnet publish provider-agent");
        var words = DocumentedCommands.Words(publish).ToList();
        var output = words.IndexOf("-o") + 1;
        Assert.True(output > 0, $"`{publish}` names no output folder");
        var folder = Directory.CreateTempSubdirectory("agent-publish-");
        try
        {
            words[output] = folder.FullName;
            var published = await CommandLine.RunAsync(words[0], words.Skip(1), new CommandOptions { Timeout = TimeSpan.FromMinutes(10) });
            Assert.True(published.Exit == 0, $"`{publish}` exited with {published.Exit}: {published.Error}\n{published.Output}");

            var help = DocumentedCommands.Words(DocumentedCommands.Block("provider-agent/README.md", "--help")[0]);
            Assert.Equal("provider-agent", help[0]);
            var result = await CommandLine.RunAsync(Path.Combine(folder.FullName, help[0]), help.Skip(1));
            Assert.True(result.Exit == 0, $"provider-agent {string.Join(' ', help.Skip(1))} exited with {result.Exit}: {result.Error}");
            foreach (var option in Configuration.OptionTable.All)
            {
                Assert.Contains(option.Flag, result.Output, StringComparison.Ordinal);
            }

            // The systemd unit runs the published program from its folder.
            Assert.True(File.Exists(Path.Combine(folder.FullName, "provider-agent.dll")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
