using System.Text.Json.Nodes;

namespace DePin.LocalKube.Tests;

/// <summary>Reads a watch over plain HTTP, one event a line, so tests see exactly what the server sent.</summary>
internal sealed class WatchStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private WatchStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public static async Task<WatchStream> OpenAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new WatchStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<(string Type, JsonObject Object)?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var line = await _reader.ReadLineAsync(cts.Token);
        if (line is null)
        {
            return null;
        }

        var node = JsonNode.Parse(line)!;
        return ((string)node["type"]!, node["object"]!.AsObject());
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        await Task.CompletedTask;
    }
}
