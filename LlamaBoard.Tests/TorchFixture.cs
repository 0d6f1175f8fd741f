using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Tests;

/// <summary>
/// Loads libtorch once for the test run, through the same door the CLI and the web app use, so a machine where
/// libtorch cannot load fails every native test with the runtime's own plain message.
/// </summary>
public static class Torch
{
    static readonly Lazy<bool> Ready = new(() =>
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Threads = Math.Min(Environment.ProcessorCount, 2);
        return true;
    });

    /// <summary>Call at the start of every test that touches tensors.</summary>
    public static void EnsureReady() => _ = Ready.Value;
}
