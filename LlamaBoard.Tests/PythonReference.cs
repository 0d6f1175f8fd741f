using System.Diagnostics;
using System.Text.Json.Nodes;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests;

/// <summary>Runs the committed PyTorch reference scripts (Debian's python3-torch) and reads their JSON answers.</summary>
internal static class PythonReference
{
    const string Python = "/usr/bin/python3";

    /// <summary>The path of a script in LlamaBoard.Tests/Fixtures/pytorch.</summary>
    public static string Script(string name) => Path.Combine(RepositoryPaths.Root, "LlamaBoard.Tests", "Fixtures", "pytorch", name);

    /// <summary>Fails with the remedy when PyTorch is missing.</summary>
    public static void RequireTorch() =>
        Assert.True(File.Exists(Python) && Run("-c", "import torch").Code == 0,
            "PyTorch is needed as the reference: apt-get install python3-torch libopenblas0-pthread (.ci/run installs it).");

    /// <summary>Runs python3 with <paramref name="arguments"/> and parses stdout as JSON (failing with stderr).</summary>
    public static JsonNode RunJson(params string[] arguments)
    {
        var (code, stdout, stderr) = Run(arguments);
        Assert.True(code == 0, $"the PyTorch reference failed: {stderr}");
        return JsonNode.Parse(stdout)!;
    }

    /// <summary>Runs the reference script <paramref name="name"/> with <paramref name="arguments"/> and returns its stdout (failing with stderr).</summary>
    public static string RunScript(string name, params string[] arguments)
    {
        RequireTorch();
        var (code, stdout, stderr) = Run([Script(name), .. arguments]);
        Assert.True(code == 0, $"{name} failed: {stderr}");
        return stdout;
    }

    /// <summary>Runs python3 and returns its exit code and output.</summary>
    public static (int Code, string Stdout, string Stderr) Run(params string[] arguments)
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
