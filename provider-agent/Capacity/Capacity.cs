using System.Diagnostics;
using System.Globalization;
using DePin.ProviderAgent.Configuration;

namespace DePin.ProviderAgent.Capacity;

/// <summary>One GPU.</summary>
/// <param name="Model">Its model, normalised like <c>nvidia-a100</c>.</param>
/// <param name="MemoryMiB">Its memory.</param>
internal sealed record GpuDevice(string Model, long MemoryMiB);

/// <summary>What one replica (or one pod) needs.</summary>
/// <param name="CpuMillis">CPU in thousandths of a core.</param>
/// <param name="MemoryMiB">Memory.</param>
/// <param name="StorageMiB">Disk.</param>
/// <param name="GpuCount">GPUs.</param>
/// <param name="GpuModel">Their model, or empty for any.</param>
internal sealed record ResourceRequest(long CpuMillis, long MemoryMiB, long StorageMiB, int GpuCount = 0, string GpuModel = "")
{
    public ResourceRequest Times(long replicas) => this with
    {
        CpuMillis = CpuMillis * replicas,
        MemoryMiB = MemoryMiB * replicas,
        StorageMiB = StorageMiB * replicas,
        GpuCount = (int)(GpuCount * replicas),
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cpu {CpuMillis}m, memory {MemoryMiB}Mi, disk {StorageMiB}Mi{(GpuCount > 0 ? $", {GpuCount} GPU {GpuModel}" : "")}");
}

/// <summary>What the host holds at one moment.</summary>
/// <param name="Leases">The leases it serves.</param>
/// <param name="Pods">Their pods.</param>
/// <param name="Used">The capacity held by leases and open bids.</param>
/// <param name="HeldForBids">The open bids that hold capacity.</param>
internal sealed record HostUsage(int Leases, int Pods, ResourceRequest Used, int HeldForBids);

/// <summary>What the host offers: detected, or overridden by configuration, less the reservations.</summary>
/// <param name="CpuMillis">CPU in thousandths of a core.</param>
/// <param name="MemoryMiB">Memory.</param>
/// <param name="StorageMiB">Disk.</param>
/// <param name="Gpus">GPUs.</param>
internal sealed record HostCapacity(long CpuMillis, long MemoryMiB, long StorageMiB, IReadOnlyList<GpuDevice> Gpus)
{
    public static HostCapacity Detect(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cores = options.CpuCores ?? Environment.ProcessorCount;
        var memory = options.MemoryMiB ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
        Directory.CreateDirectory(options.DataDir);
        var disk = options.DiskMiB ?? new DriveInfo(Path.GetFullPath(options.DataDir)).AvailableFreeSpace / (1024 * 1024);
        var gpus = options.Gpus is { } configured ? ParseGpuList(configured) : NvidiaSmi.Query();
        return new HostCapacity(
            Math.Max(0, (long)Math.Round((cores - options.ReserveCpuCores) * 1000)),
            Math.Max(0, memory - options.ReserveMemoryMiB),
            Math.Max(0, disk - options.ReserveDiskMiB),
            gpus);
    }

    internal static List<GpuDevice> ParseGpuList(IEnumerable<string> entries)
    {
        var result = new List<GpuDevice>();
        foreach (var entry in entries)
        {
            var parts = entry.Split(':', 2);
            if (parts.Length != 2 || parts[0].Length == 0 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var memory))
            {
                throw new FormatException($"GPU \"{entry}\" is not MODEL:MiB");
            }

            result.Add(new GpuDevice(parts[0].ToLowerInvariant(), memory));
        }

        return result;
    }
}

/// <summary>Reads NVIDIA GPUs from <c>nvidia-smi</c>, when it is installed.</summary>
internal static class NvidiaSmi
{
    public static List<GpuDevice> Query()
    {
        var executable = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "nvidia-smi"))
            .FirstOrDefault(File.Exists);
        if (executable is null)
        {
            return [];
        }

        using var process = Process.Start(new ProcessStartInfo(executable, ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? Parse(output) : [];
    }

    /// <summary>Parses lines such as <c>NVIDIA A100-SXM4-80GB, 81920</c>.</summary>
    internal static List<GpuDevice> Parse(string csv) =>
        [.. csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(',', StringSplitOptions.TrimEntries))
            .Where(fields => fields.Length == 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(fields => new GpuDevice(Model(fields[0]), long.Parse(fields[1], CultureInfo.InvariantCulture)))];

    /// <summary>
    /// <c>NVIDIA A100-SXM4-80GB</c> becomes <c>nvidia-a100</c>, <c>NVIDIA GeForce RTX 4090</c> becomes
    /// <c>nvidia-rtx-4090</c>, <c>Tesla T4</c> becomes <c>nvidia-t4</c>: the words up to the first with a digit.
    /// </summary>
    internal static string Model(string name)
    {
        var words = name.ToLowerInvariant().Replace('-', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w is not ("nvidia" or "geforce" or "tesla"))
            .ToList();
        var end = words.FindIndex(w => w.Any(char.IsAsciiDigit));
        var kept = end >= 0 ? words.Take(end + 1) : words;
        return "nvidia-" + string.Join("-", kept);
    }
}
