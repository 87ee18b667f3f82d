using System.Diagnostics;
using System.Text;

namespace DePin.Testing;

/// <summary>Everything a long-running child process writes to standard output and error, gathered line by line as it runs.</summary>
public sealed class ProcessOutput
{
    private readonly StringBuilder _text = new();

    /// <summary>Starts a process with both streams redirected into a new <see cref="ProcessOutput"/>.</summary>
    /// <param name="start">What to start; its streams are redirected here.</param>
    /// <returns>The process and its output.</returns>
    public static (Process Process, ProcessOutput Output) Start(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var output = new ProcessOutput();
        process.OutputDataReceived += (_, e) => output.Append(e.Data);
        process.ErrorDataReceived += (_, e) => output.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    /// <summary>What the process wrote so far.</summary>
    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_text)
            {
                _text.AppendLine(line);
            }
        }
    }
}
