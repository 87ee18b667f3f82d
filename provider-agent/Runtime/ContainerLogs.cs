using System.Text;

namespace DePin.ProviderAgent.Runtime;

/// <summary>
/// A container's log file: rotated by copy and truncate (the writer appends, so it carries on at the
/// new end), read from the tail, and followed as it grows.
/// </summary>
internal static class ContainerLogs
{
    public static void Rotate(string path, long maxBytes, int keep)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length <= maxBytes)
        {
            return;
        }

        for (var i = keep - 1; i >= 1; i--)
        {
            var older = $"{path}.{i}";
            if (File.Exists(older))
            {
                File.Move(older, $"{path}.{i + 1}", overwrite: true);
            }
        }

        File.Copy(path, $"{path}.1", overwrite: true);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.SetLength(0);
        File.Delete($"{path}.{keep + 1}");
    }

    /// <summary>The last lines of the log, or all of it.</summary>
    public static (string Text, long Position) Tail(string path, int? lines)
    {
        if (!File.Exists(path))
        {
            return ("", 0);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = stream.Length;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        if (lines is { } n)
        {
            var all = text.Split('\n');
            var ends = text.EndsWith('\n') ? 1 : 0;
            var start = Math.Max(0, all.Length - ends - n);
            text = string.Join('\n', all[start..]);
        }

        return (text, length);
    }

    /// <summary>Writes what is appended to the log from <paramref name="position"/> on, until cancelled or <paramref name="done"/> says so.</summary>
    public static async Task FollowAsync(string path, long position, Stream output, Func<bool> done, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (!cancellationToken.IsCancellationRequested)
        {
            var finished = done();
            if (File.Exists(path))
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (stream.Length < position)
                {
                    position = 0; // rotated
                }

                stream.Position = position;
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    position += read;
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (finished)
            {
                return;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }
}
