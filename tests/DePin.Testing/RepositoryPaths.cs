namespace DePin.Testing;

/// <summary>Finds files of the repository from wherever the test assembly runs.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder holding Operator.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path under the repository root.</summary>
    /// <param name="parts">Path segments.</param>
    /// <returns>The combined path.</returns>
    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Operator.sln not found above {AppContext.BaseDirectory}");
    }
}
