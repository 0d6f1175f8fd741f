using System.Globalization;
using LLama.Native;
using LlamaBoard.Bench;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

// Usage: dotnet run -c Release --project bench/GenerateBench [-- --size 100m|tiny] [--prompt-tokens 64]
//        [--new-tokens 64] [--repeats 2] [--threads N] [--keep DIR]
var settings = Settings.Parse(args);
TorchRuntime.EnsureInitialized();
int threads = settings.Threads ?? TorchRuntime.Threads;
TorchRuntime.Threads = threads;
NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });

string root = settings.Keep ?? Path.Combine(Path.GetTempPath(), $"llamaboard-generate-bench-{Guid.NewGuid():N}");
try
{
    string folder = GenerationBenchmark.EnsureModel(Path.Combine(root, "model"), settings.Size);
    var shape = GenerationBenchmark.Sizes[settings.Size];
    string ggufFolder = Path.Combine(root, "gguf");
    Directory.CreateDirectory(ggufFolder);
    var ggufs = new Dictionary<GgmlType, string>();
    using (var loaded = HfModelLoader.Load(folder, ScalarType.Float32, CPU))
    {
        Console.WriteLine(FormattableString.Invariant(
            $"Model: {GenerationBenchmark.ModelType} {settings.Size}, {loaded.Model.ParameterCount / 1e6:0.0}M parameters (hidden {shape.HiddenSize}, {shape.Layers} layers, vocab {shape.VocabSize})"));
        foreach (var type in new[] { GgmlType.F32, GgmlType.BF16 })
        {
            // Each type in its own folder (the exporter writes a Modelfile beside the .gguf); reused with --keep.
            string typeFolder = Path.Combine(ggufFolder, type.ToString());
            ggufs[type] = Directory.Exists(typeFolder) && Directory.GetFiles(typeFolder, "*.gguf") is [var existing]
                ? existing
                : GgufExporter.Export(loaded.Model, folder, Directory.CreateDirectory(typeFolder).FullName, type, $"bench-{settings.Size}").GgufPath;
        }
    }
    Console.WriteLine(FormattableString.Invariant(
        $"CPU, {threads} threads for both engines; prompt {settings.PromptTokens} tokens, {settings.NewTokens} new tokens per row, greedy, best of {settings.Repeats}"));
    Console.WriteLine("dtype  batch | LlamaBoard TTFT ms  decode tok/s | llama.cpp TTFT ms  decode tok/s | decode ratio");
    int[] batches = [1, 8];
    foreach (var (name, dtype, ggmlType, cache) in new[]
             {
                 ("fp32", ScalarType.Float32, GgmlType.F32, GGMLType.GGML_TYPE_F32),
                 ("bf16", ScalarType.BFloat16, GgmlType.BF16, GGMLType.GGML_TYPE_F16),
             })
    {
        var ours = GenerationBenchmark.MeasureFolder(folder, dtype, name, batches, settings.PromptTokens, settings.NewTokens, settings.Repeats);
        foreach (var mine in ours)
        {
            var theirs = LlamaCppTiming.Measure(ggufs[ggmlType], name, cache, mine.Batch, settings.PromptTokens, settings.NewTokens,
                                                settings.Repeats, threads);
            Console.WriteLine(FormattableString.Invariant(
                $"{name,-5}  {mine.Batch,5} | {mine.TimeToFirstToken.TotalMilliseconds,15:0.0}  {mine.DecodeTokensPerSecond,12:0.0} | {theirs.TimeToFirstToken.TotalMilliseconds,14:0.0}  {theirs.DecodeTokensPerSecond,12:0.0} | {mine.DecodeTokensPerSecond / theirs.DecodeTokensPerSecond,8:0.00}x"));
        }
    }
    Console.WriteLine("llama.cpp runs the F32 GGUF with an F32 KV cache and the BF16 GGUF with llama.cpp's default F16 KV cache; the ratio is LlamaBoard / llama.cpp decode tokens/s (target >= 0.8).");
    return 0;
}
finally
{
    if (settings.Keep is null && Directory.Exists(root)) Directory.Delete(root, recursive: true);
}

/// <summary>Command-line settings.</summary>
internal sealed record Settings(string Size, int PromptTokens, int NewTokens, int Repeats, int? Threads, string? Keep)
{
    public static Settings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected --name value, got '{args[i]}'.");
            values[args[i][2..]] = args[i + 1];
        }
        if (args.Length % 2 != 0) throw new ArgumentException($"'{args[^1]}' has no value.");
        int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new Settings(values.GetValueOrDefault("size", "100m"), Int("prompt-tokens", 64), Int("new-tokens", 64), Int("repeats", 2),
                            values.ContainsKey("threads") ? Int("threads", 1) : null, values.GetValueOrDefault("keep"));
    }
}
