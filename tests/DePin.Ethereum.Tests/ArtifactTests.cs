using System.Diagnostics;
using DePin.Ethereum.Contracts;
using DePin.Testing;

namespace DePin.Ethereum.Tests;

public sealed class ArtifactTests
{
    [Fact]
    public void EmbeddedArtifacts_AreTheCommittedOnes()
    {
        Assert.Equal(
            ContractArtifact.Load(RepositoryPaths.Of("contracts", "artifacts", "DePinMarket.json")).Bytecode,
            DePinMarketContract.Compiled.Bytecode);
        Assert.Contains(DePinMarketContract.Compiled.Abi.Errors, e => e.Name == "PriceAboveMaximum");
        Assert.Equal("TestStablecoin", Erc20Contract.TestStablecoin.Name);
    }

    [SolcFact]
    public async Task CommittedArtifacts_EqualTheCompilerOutput()
    {
        var output = Directory.CreateTempSubdirectory("artifacts-");
        try
        {
            var start = new ProcessStartInfo("node", [RepositoryPaths.Of("hack", "solc", "compile.js"), output.FullName]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await errors);

            var committed = RepositoryPaths.Of("contracts", "artifacts");
            var expected = Directory.GetFiles(output.FullName, "*.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output.FullName, f)).Order().ToList();
            Assert.Equal(expected, Directory.GetFiles(committed, "*.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(committed, f)).Order());
            foreach (var file in expected)
            {
                Assert.True(
                    File.ReadAllText(Path.Combine(output.FullName, file)) == File.ReadAllText(Path.Combine(committed, file)),
                    $"contracts/artifacts/{file} is stale: run 'make manifests' and commit the result");
            }
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}

/// <summary>Skips a test, saying why, when node or the npm tools are missing.</summary>
public sealed class SolcFactAttribute : FactAttribute
{
    public SolcFactAttribute()
    {
        if (!File.Exists(RepositoryPaths.Of("hack", "tools", "node_modules", "solc", "solc.js")))
        {
            Skip = "solc is not installed: run 'make tools'";
        }
    }
}
