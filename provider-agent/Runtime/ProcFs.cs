using System.Globalization;
using System.Runtime.InteropServices;

namespace DePin.ProviderAgent.Runtime;

/// <summary>Process facts from /proc and signals through libc.</summary>
internal static partial class ProcFs
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>Reads state, process group and start time from /proc/PID/stat.</summary>
    /// <returns>null when there is no such process.</returns>
    public static (char State, int ProcessGroup, long StartTicks)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name in parentheses may hold spaces; the fields after its closing parenthesis are fixed.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], int.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    /// <summary>Whether the process still runs and is the one started at <paramref name="startTicks"/>.</summary>
    public static bool IsAlive(int pid, long startTicks) =>
        Stat(pid) is { } stat && stat.State is not ('Z' or 'X') && stat.StartTicks == startTicks;

    /// <summary>Every live process in a process group.</summary>
    public static IReadOnlyList<int> GroupMembers(int processGroup)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { } stat && stat.ProcessGroup == processGroup && stat.State is not ('Z' or 'X'))
            {
                members.Add(pid);
            }
        }

        return members;
    }

    /// <summary>Sends a signal to a whole process group.</summary>
    public static void SignalGroup(int processGroup, int signal) => _ = Kill(-processGroup, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
