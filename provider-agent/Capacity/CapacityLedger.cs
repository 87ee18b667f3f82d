using System.Globalization;

namespace DePin.ProviderAgent.Capacity;

/// <summary>
/// Who holds which part of the host: bids hold capacity while they are open, leases while they run.
/// Every change goes through one lock, so two bids can never both take the last free core.
/// </summary>
internal sealed class CapacityLedger(HostCapacity total)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Allocation> _allocations = new(StringComparer.Ordinal);

    public HostCapacity Total { get; } = total;

    /// <summary>Reserves what a holder needs, or says why it does not fit.</summary>
    /// <returns>null when reserved, else the reason.</returns>
    public string? TryReserve(string holder, ResourceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            if (_allocations.ContainsKey(holder))
            {
                return null;
            }

            var used = UsedLocked();
            var freeGpus = FreeGpusLocked(request.GpuModel);
            string? shortfall =
                used.CpuMillis + request.CpuMillis > Total.CpuMillis ? string.Create(CultureInfo.InvariantCulture, $"needs {request.CpuMillis}m CPU, {Total.CpuMillis - used.CpuMillis}m free") :
                used.MemoryMiB + request.MemoryMiB > Total.MemoryMiB ? string.Create(CultureInfo.InvariantCulture, $"needs {request.MemoryMiB}Mi memory, {Total.MemoryMiB - used.MemoryMiB}Mi free") :
                used.StorageMiB + request.StorageMiB > Total.StorageMiB ? string.Create(CultureInfo.InvariantCulture, $"needs {request.StorageMiB}Mi disk, {Total.StorageMiB - used.StorageMiB}Mi free") :
                request.GpuCount > freeGpus.Count ? string.Create(CultureInfo.InvariantCulture, $"needs {request.GpuCount} GPU {request.GpuModel}, {freeGpus.Count} free") :
                null;
            if (shortfall is null)
            {
                _allocations[holder] = new Allocation(request, [.. freeGpus.Take(request.GpuCount)]);
            }

            return shortfall;
        }
    }

    /// <summary>How many replicas of this size fit in what is free now, at most <paramref name="most"/>.</summary>
    public long FitCount(ResourceRequest perReplica, long most)
    {
        ArgumentNullException.ThrowIfNull(perReplica);
        lock (_lock)
        {
            return FitCountLocked(perReplica, most);
        }
    }

    /// <summary>Reserves as many replicas as fit, at most <paramref name="most"/>, in one step.</summary>
    /// <returns>The replicas reserved; 0 when not even one fits (nothing is reserved then).</returns>
    public long ReserveUpTo(string holder, ResourceRequest perReplica, long most)
    {
        ArgumentNullException.ThrowIfNull(perReplica);
        lock (_lock)
        {
            var count = _allocations.ContainsKey(holder) ? 0 : FitCountLocked(perReplica, most);
            if (count > 0)
            {
                var request = perReplica.Times(count);
                _allocations[holder] = new Allocation(request, [.. FreeGpusLocked(perReplica.GpuModel).Take(request.GpuCount)]);
            }

            return count;
        }
    }

    /// <summary>Hands a holder's reservation to another (a bid that became a lease).</summary>
    public bool Transfer(string from, string to)
    {
        lock (_lock)
        {
            if (!_allocations.Remove(from, out var allocation))
            {
                return false;
            }

            _allocations[to] = allocation;
            return true;
        }
    }

    public bool Release(string holder)
    {
        lock (_lock)
        {
            return _allocations.Remove(holder);
        }
    }

    public bool Holds(string holder)
    {
        lock (_lock)
        {
            return _allocations.ContainsKey(holder);
        }
    }

    public IReadOnlyList<string> Holders(string prefix)
    {
        lock (_lock)
        {
            return [.. _allocations.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))];
        }
    }

    /// <summary>What is held, and how many holders' names start with <paramref name="prefix"/>, read together.</summary>
    public (ResourceRequest Used, int Holders) Snapshot(string prefix)
    {
        lock (_lock)
        {
            return (UsedLocked(), _allocations.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)));
        }
    }

    public ResourceRequest Used()
    {
        lock (_lock)
        {
            return UsedLocked();
        }
    }

    private ResourceRequest UsedLocked() => new(
        _allocations.Values.Sum(a => a.Request.CpuMillis),
        _allocations.Values.Sum(a => a.Request.MemoryMiB),
        _allocations.Values.Sum(a => a.Request.StorageMiB),
        _allocations.Values.Sum(a => a.Gpus.Count));

    private long FitCountLocked(ResourceRequest perReplica, long most)
    {
        var used = UsedLocked();
        static long Fit(long free, long need) => need <= 0 ? long.MaxValue : Math.Max(0, free) / need;
        return new[]
        {
            most,
            Fit(Total.CpuMillis - used.CpuMillis, perReplica.CpuMillis),
            Fit(Total.MemoryMiB - used.MemoryMiB, perReplica.MemoryMiB),
            Fit(Total.StorageMiB - used.StorageMiB, perReplica.StorageMiB),
            Fit(FreeGpusLocked(perReplica.GpuModel).Count, perReplica.GpuCount),
        }.Min();
    }

    private List<int> FreeGpusLocked(string model)
    {
        var taken = _allocations.Values.SelectMany(a => a.Gpus).ToHashSet();
        return [.. Enumerable.Range(0, Total.Gpus.Count)
            .Where(i => !taken.Contains(i) && (model.Length == 0 || string.Equals(Total.Gpus[i].Model, model, StringComparison.OrdinalIgnoreCase)))];
    }

    private sealed record Allocation(ResourceRequest Request, IReadOnlyList<int> Gpus);
}
