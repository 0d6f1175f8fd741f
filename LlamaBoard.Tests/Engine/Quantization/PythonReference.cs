using System.Diagnostics;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>Runs the PyTorch reference scripts in LlamaBoard.Tests/Fixtures/pytorch with Debian's python3-torch.</summary>
internal static class PythonReference
{
    const string Python = "/usr/bin/python3";

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/>; fails the test with the reason when PyTorch is missing.</summary>
    public static string Run(string script, params string[] arguments)
    {
        Assert.True(File.Exists(Python) && Execute("-c", "import torch").Code == 0,
            "PyTorch is needed as the reference: apt-get install python3-torch libopenblas0-pthread (.ci/run installs it).");
        var (code, stdout, stderr) = Execute([Path.Combine(RepositoryPaths.Root, "LlamaBoard.Tests", "Fixtures", "pytorch", script), .. arguments]);
        Assert.True(code == 0, $"{script} failed: {stderr}");
        return stdout;
    }

    static (int Code, string Stdout, string Stderr) Execute(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }
}
