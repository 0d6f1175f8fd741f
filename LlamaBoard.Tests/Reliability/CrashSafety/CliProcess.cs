using System.Diagnostics;
using System.Text;

namespace LlamaBoard.Tests.Reliability.CrashSafety;

/// <summary>
/// The real <c>llamaboard</c> executable as a child process (the apphost the build puts next to the test assembly,
/// else <c>dotnet exec llamaboard.dll</c>), so a test can end it with SIGKILL as a crash or power cut would.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    CliProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>llamaboard</c> with <paramref name="arguments"/>.</summary>
    public static CliProcess Start(params string[] arguments)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "llamaboard.exe" : "llamaboard");
        var start = File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                ArgumentList = { "exec", Path.Combine(AppContext.BaseDirectory, "llamaboard.dll") },
            };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        // Plain log lines instead of a live panel, and no colour codes in the captured output.
        start.Environment["NO_COLOR"] = "1";
        start.Environment["TERM"] = "dumb";
        return new CliProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}."));
    }

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => process.HasExited;

    /// <summary>Its exit code (after it ended).</summary>
    public int ExitCode => process.ExitCode;

    /// <summary>Everything it wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>SIGKILL on Unix (TerminateProcess on Windows): no handler, finally block or flush runs.</summary>
    public void KillHard()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>Waits for the end (or kills it after <paramref name="timeout"/>) and returns the exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            KillHard();
            throw new TimeoutException($"llamaboard did not finish within {timeout.TotalSeconds} s. Output:\n{Output}");
        }
        process.WaitForExit(); // drains the asynchronous output readers
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited) KillHard();
        process.Dispose();
    }
}
