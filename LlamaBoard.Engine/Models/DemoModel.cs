namespace LlamaBoard.Engine.Models;

/// <summary>
/// The demo model the examples and the board use (<c>models/demo</c>): a tiny random Qwen3-shaped model with the
/// built-in tokenizer, created on first use so that a newcomer can train without downloading anything.
/// </summary>
public static class DemoModel
{
    /// <summary>The path the examples name.</summary>
    public const string RelativePath = "models/demo";

    /// <summary>The demo's architecture: 4 layers, hidden 128, GQA 4/2, vocab 512 (about 0.9M parameters).</summary>
    public static ModelScaffoldOptions Options(string folder) =>
        new("qwen3", new ModelShape(128, 4, 4, 2, 384, 512, HeadDim: 32), folder) { Seed = 20241127 };

    /// <summary>True when <paramref name="path"/> names the demo model (relative to the working directory).</summary>
    public static bool IsDemoPath(string path) =>
        string.Equals(path.Replace('\\', '/').TrimEnd('/'), RelativePath, StringComparison.Ordinal);

    /// <summary>Creates the demo model in <paramref name="folder"/> unless a model is already there; true when created.</summary>
    public static bool EnsureCreated(string folder)
    {
        if (File.Exists(Path.Combine(folder, HfModelLoader.ConfigFileName))) return false;
        ModelScaffold.Create(Options(folder));
        return true;
    }
}
