using DePin.ProviderAgent.Runtime;

using DePin.Testing;

namespace DePin.ProviderAgent.Tests;

public sealed class ContainerLogsTests
{
    [Fact]
    public async Task Logs_RotateBeyondTheirSize_KeepTheNewestFiles_AndTheWriterCarriesOn()
    {
        using var directory = new AgentDirectory();
        Directory.CreateDirectory(directory.Data);
        var path = Path.Combine(directory.Data, "c.log");

        // One long-lived writer holding the file open with >>, as the supervisor shell does.
        var start = new System.Diagnostics.ProcessStartInfo("sh", ["-c", "exec >>\"$0\"; while read -r line; do echo \"$line\"; done", path]) { RedirectStandardInput = true };
        using var writer = System.Diagnostics.Process.Start(start)!;
        async Task WriteAsync(string line)
        {
            var before = File.Exists(path) ? new FileInfo(path).Length : 0;
            await writer.StandardInput.WriteLineAsync(line);
            await writer.StandardInput.FlushAsync();
            await Testing.Eventually.UntilAsync(() => File.Exists(path) && new FileInfo(path).Length >= before + line.Length + 1);
        }

        for (var round = 1; round <= 4; round++)
        {
            await WriteAsync($"round {round} " + new string('x', 100));
            ContainerLogs.Rotate(path, maxBytes: 50, keep: 2);
        }

        await WriteAsync("after");
        writer.StandardInput.Close();
        await writer.WaitForExitAsync();

        Assert.StartsWith("round 4", await File.ReadAllTextAsync(path + ".1"), StringComparison.Ordinal);
        Assert.StartsWith("round 3", await File.ReadAllTextAsync(path + ".2"), StringComparison.Ordinal);
        Assert.False(File.Exists(path + ".3"));
        Assert.Equal("after\n", await File.ReadAllTextAsync(path));
        Assert.Equal("after\n", ContainerLogs.Tail(path, 1).Text);
    }

    [Fact]
    public void Tail_ReturnsTheLastLines()
    {
        using var directory = new AgentDirectory();
        Directory.CreateDirectory(directory.Data);
        var path = Path.Combine(directory.Data, "t.log");
        File.WriteAllText(path, "a\nb\nc\n");

        Assert.Equal("b\nc\n", ContainerLogs.Tail(path, 2).Text);
        Assert.Equal("a\nb\nc\n", ContainerLogs.Tail(path, null).Text);
        Assert.Equal("", ContainerLogs.Tail(path, 0).Text);
        Assert.Equal(("", 0L), ContainerLogs.Tail(Path.Combine(directory.Data, "missing"), 3));
    }
}
