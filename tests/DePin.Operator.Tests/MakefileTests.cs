using DePin.Testing;

namespace DePin.Operator.Tests;

/// <summary>Targets of the Makefile that no other test or CI step runs.</summary>
public sealed class MakefileTests
{
    [Fact]
    public async Task Clean_RemovesBuildOutput_TestResults_AndInstalledTools_AndNothingElse()
    {
        // A scratch tree with the repository's Makefile: make clean must not touch the repository the tests run from.
        var root = Directory.CreateTempSubdirectory("make-clean-");
        try
        {
            File.Copy(RepositoryPaths.Of("Makefile"), Path.Combine(root.FullName, "Makefile"));
            string[] removed = ["operator/DePin.Operator/bin/Debug/x.dll", "operator/DePin.Operator/obj/project.assets.json", "tests/A/bin/y", "artifacts/test-results/a.trx", "hack/tools/node_modules/solc/index.js", "hack/tools/bin/helm"];
            string[] kept = ["operator/DePin.Operator/Program.cs", "hack/tools/package.json", "hack/tools/package-lock.json", "crds/a.yaml", "docs/binaries.md"];
            foreach (var file in removed.Concat(kept))
            {
                var path = Path.Combine(root.FullName, file);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, file);
            }

            var result = await CommandLine.RunAsync("make", ["clean"], new CommandOptions { WorkingDirectory = root.FullName });
            Assert.True(result.Exit == 0, $"make clean exited with {result.Exit}: {result.Error}");
            Assert.All(removed, f => Assert.False(File.Exists(Path.Combine(root.FullName, f)), $"{f} is still there"));
            Assert.All(kept, f => Assert.True(File.Exists(Path.Combine(root.FullName, f)), $"{f} was removed"));
            Assert.False(Directory.Exists(Path.Combine(root.FullName, "artifacts")));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
