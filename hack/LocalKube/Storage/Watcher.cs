using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace DePin.LocalKube.Storage;

/// <summary>One item of a watch stream: the event type and the object as JSON.</summary>
/// <param name="Type">ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.</param>
/// <param name="Json">The object (or Status for ERROR) as UTF-8 JSON.</param>
/// <param name="ResourceVersion">resourceVersion the item carries.</param>
public readonly record struct WatchItem(string Type, byte[] Json, long ResourceVersion)
{
    /// <summary>The line written to the HTTP stream: <c>{"type":...,"object":...}</c> and a newline.</summary>
    /// <returns>UTF-8 bytes.</returns>
    public byte[] ToLine()
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{Type}\",\"object\":");
        var line = new byte[prefix.Length + Json.Length + 2];
        prefix.CopyTo(line, 0);
        Json.CopyTo(line, prefix.Length);
        line[^2] = (byte)'}';
        line[^1] = (byte)'\n';
        return line;
    }
}

/// <summary>
/// A watch on one resource type, optionally one namespace and selectors. The store writes to it under
/// its lock, so events arrive in resourceVersion order with nothing skipped.
/// </summary>
public sealed class Watcher : IDisposable
{
    private readonly Channel<WatchItem> _channel = Channel.CreateUnbounded<WatchItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action<Watcher> _unregister;
    private long _lastResourceVersion;

    internal Watcher(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, Action<Watcher> unregister)
    {
        Type = type;
        Namespace = ns;
        Labels = labels;
        Fields = fields;
        _unregister = unregister;
    }

    /// <summary>The watched type.</summary>
    public ResourceType Type { get; }

    /// <summary>The watched namespace, or null for all.</summary>
    public string? Namespace { get; }

    /// <summary>The label selector.</summary>
    public LabelSelector Labels { get; }

    /// <summary>The field selector.</summary>
    public FieldSelector Fields { get; }

    /// <summary>Where the stream is read.</summary>
    public ChannelReader<WatchItem> Reader => _channel.Reader;

    /// <summary>Stops the watch and frees it.</summary>
    public void Dispose()
    {
        _unregister(this);
        _channel.Writer.TryComplete();
    }

    internal void Close() => _channel.Writer.TryComplete();

    internal void Offer(StoreEvent change)
    {
        if (change.Current.Type.GroupResource != Type.GroupResource
            || (Namespace is not null && change.Current.Namespace != Namespace))
        {
            return;
        }

        var now = Matches(change.Current);
        var before = change.Previous is not null && change.Type == "MODIFIED" && Matches(change.Previous);
        var type = change.Type switch
        {
            "MODIFIED" when now && before => "MODIFIED",
            "MODIFIED" when now => "ADDED",
            "MODIFIED" when before => "DELETED",
            "ADDED" or "DELETED" when now => change.Type,
            _ => null,
        };
        if (type is not null)
        {
            Write(new WatchItem(type, change.Current.Json, change.ResourceVersion));
        }
    }

    internal void Added(StoredObject obj)
    {
        if (Matches(obj))
        {
            Write(new WatchItem("ADDED", obj.Json, obj.ResourceVersion));
        }
    }

    internal void Bookmark(long resourceVersion)
    {
        if (resourceVersion < _lastResourceVersion)
        {
            return;
        }

        var obj = new JsonObject
        {
            ["kind"] = Type.Kind,
            ["apiVersion"] = Type.ApiVersion,
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        Write(new WatchItem("BOOKMARK", JsonSerializer.SerializeToUtf8Bytes(obj), resourceVersion));
    }

    internal void Fail(ApiException error)
    {
        Write(new WatchItem("ERROR", JsonSerializer.SerializeToUtf8Bytes(error.ToStatus()), 0));
        Close();
    }

    private bool Matches(StoredObject obj) =>
        (Fields.Name is null || Fields.Name == obj.Name) && Labels.Matches(obj.Node) && Fields.Matches(obj.Node);

    private void Write(WatchItem item)
    {
        _lastResourceVersion = Math.Max(_lastResourceVersion, item.ResourceVersion);
        _channel.Writer.TryWrite(item);
    }
}
