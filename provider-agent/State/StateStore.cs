using System.Text.Json;
using System.Text.Json.Serialization;

namespace DePin.ProviderAgent.State;

/// <summary>
/// Leases, pods and small documents (the marketplace cursor) as JSON files under the data folder. Every
/// write goes to a temporary file that is flushed and then renamed over the old one, so a crash leaves
/// either the old or the new content, never a torn file.
/// </summary>
internal sealed class StateStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    private readonly string _leases;
    private readonly string _pods;
    private readonly string _documents;

    public StateStore(string dataDir)
    {
        Root = dataDir;
        _leases = Path.Combine(dataDir, "state", "leases");
        _pods = Path.Combine(dataDir, "state", "pods");
        _documents = Path.Combine(dataDir, "state");
        Directory.CreateDirectory(_leases);
        Directory.CreateDirectory(_pods);
    }

    public string Root { get; }

    public IEnumerable<LeaseRecord> Leases() => ReadAll<LeaseRecord>(_leases);

    public IEnumerable<PodRecord> Pods() => ReadAll<PodRecord>(_pods);

    public void Save(LeaseRecord lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        Write(Path.Combine(_leases, lease.Id + ".json"), lease);
    }

    public void DeleteLease(string id) => File.Delete(Path.Combine(_leases, id + ".json"));

    public void Save(PodRecord pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        Write(Path.Combine(_pods, pod.LeaseId + "__" + pod.Name + ".json"), pod);
    }

    public void DeletePod(PodRecord pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        File.Delete(Path.Combine(_pods, pod.LeaseId + "__" + pod.Name + ".json"));
    }

    public T? ReadDocument<T>(string name)
    {
        var path = Path.Combine(_documents, name + ".json");
        return File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json) : default;
    }

    public void WriteDocument<T>(string name, T value) => Write(Path.Combine(_documents, name + ".json"), value);

    private static IEnumerable<T> ReadAll<T>(string folder)
    {
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            yield return JsonSerializer.Deserialize<T>(File.ReadAllText(file), Json) ?? throw new InvalidDataException($"{file} is empty");
        }
    }

    private static void Write<T>(string path, T value)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, value, Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
