using Xunit;

namespace DePin.Testing;

/// <summary>A test that needs a Docker engine; it is skipped, saying why, when none answers on the default socket.</summary>
public sealed class DockerFactAttribute : FactAttribute
{
    /// <summary>The Docker Engine socket the test uses.</summary>
    public const string Socket = "/var/run/docker.sock";

    /// <summary>Creates the attribute.</summary>
    public DockerFactAttribute()
    {
        if (!File.Exists(Socket))
        {
            Skip = $"no Docker engine on this machine ({Socket} does not exist)";
        }
    }
}
