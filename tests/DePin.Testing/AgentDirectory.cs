using System.Globalization;
using System.Text.Json.Nodes;

namespace DePin.Testing;

/// <summary>
/// A temporary folder for one agent. Pods outlive their agent by design, so disposing it kills the
/// process group of every container the agent recorded before deleting the folder.
/// </summary>
public sealed class AgentDirectory : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("provider-agent-");

    /// <summary>The agent's data folder (created by the agent).</summary>
    public string Data => Path.Combine(_root.FullName, "data");

    /// <summary>Whether a process runs (a zombie counts as gone).</summary>
    public static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}") && !File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat").Contains(") Z ", StringComparison.Ordinal);

    /// <summary>Processes in a process group, read from /proc.</summary>
    public static List<int> GroupMembers(int group)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[2], CultureInfo.InvariantCulture) == group)
                {
                    result.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    /// <summary>Processes whose environment carries this pod uid.</summary>
    public static List<int> ProcessesOfPod(string uid)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environ.Split('\0').Contains("DEPIN_POD_UID=" + uid) && ProcessExists(pid))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    /// <summary>Kills every recorded container's process group and deletes the folder.</summary>
    public void Dispose()
    {
        var pods = Path.Combine(Data, "state", "pods");
        if (Directory.Exists(pods))
        {
            foreach (var file in Directory.GetFiles(pods, "*.json"))
            {
                foreach (var container in JsonNode.Parse(File.ReadAllText(file))!["Containers"]!.AsArray())
                {
                    var pid = container!["Pid"]!.GetValue<int>();
                    if (pid > 0)
                    {
                        foreach (var member in GroupMembers(pid))
                        {
                            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", member.ToString(CultureInfo.InvariantCulture)]);
                            kill.WaitForExit();
                        }
                    }
                }
            }
        }

        _root.Delete(recursive: true);
    }
}
