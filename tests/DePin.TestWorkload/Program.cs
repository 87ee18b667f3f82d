using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

// A workload for provider-agent tests. Usage: DePin.TestWorkload [PORT [LINES]]
// Prints LINES numbered lines, then serves HTTP on PORT (by default the PORT variable the agent sets):
//   GET /            "ok"           GET /env/NAME   the variable's value
//   GET /pid         its process id GET /child      starts `sleep 600` and returns its pid
//   GET /say/TEXT    prints TEXT    GET /exit/CODE  exits with CODE
//   GET /healthz     "ok", or 503 after GET /sick until GET /well
var port = int.Parse(args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("PORT") ?? throw new InvalidOperationException("no PORT argument and no PORT variable"), CultureInfo.InvariantCulture);
var lines = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;
for (var i = 1; i <= lines; i++)
{
    Console.WriteLine($"line {i}");
}

var listener = new TcpListener(IPAddress.Any, port);
listener.Start();
Console.WriteLine($"listening on {port}");
var children = new List<Process>();
var healthy = true;
while (true)
{
    using var client = await listener.AcceptTcpClientAsync();
    try
    {
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);

        // A TCP probe connects and closes without a request: nothing to answer.
        if (await reader.ReadLineAsync() is not { } request)
        {
            continue;
        }

        while (!string.IsNullOrEmpty(await reader.ReadLineAsync()))
        {
        }

        var path = request.Split(' ') is [_, var p, ..] ? Uri.UnescapeDataString(p) : "/";
        var exit = (int?)null;
        var status = "200 OK";
        var body = path switch
        {
            "/" => "ok",
            "/healthz" when healthy => "ok",
            "/healthz" => Fail(out status),
            "/sick" => (healthy = false).ToString(),
            "/well" => (healthy = true).ToString(),
            "/pid" => Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "/child" => StartChild(children),
            _ when path.StartsWith("/env/", StringComparison.Ordinal) => Environment.GetEnvironmentVariable(path[5..]) ?? "",
            _ when path.StartsWith("/say/", StringComparison.Ordinal) => Say(path[5..]),
            _ when path.StartsWith("/exit/", StringComparison.Ordinal) => (exit = int.Parse(path[6..], CultureInfo.InvariantCulture)).ToString()!,
            _ => "unknown",
        };
        var bytes = Encoding.UTF8.GetBytes(body);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"));
        await stream.WriteAsync(bytes);
        await stream.FlushAsync();
        if (exit is { } code)
        {
            client.Close();
            Environment.Exit(code);
        }
    }
    catch (IOException)
    {
        // The client went away mid-request.
    }
}

static string Fail(out string status)
{
    status = "503 Service Unavailable";
    return "sick";
}

static string StartChild(List<Process> children)
{
    var child = Process.Start("sleep", "600");
    children.Add(child);
    return child.Id.ToString(CultureInfo.InvariantCulture);
}

static string Say(string text)
{
    Console.WriteLine(text);
    return "said";
}
