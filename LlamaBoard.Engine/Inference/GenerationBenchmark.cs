using System.Text.Json.Nodes;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Inference;

/// <summary>One measured configuration.</summary>
/// <param name="DType">"fp32" or "bf16".</param>
/// <param name="Batch">Rows generated together.</param>
/// <param name="TimeToFirstToken">Prompt forward pass plus the first choice (best of the repeats).</param>
/// <param name="DecodeTokensPerSecond">Tokens after the first, over all rows, per second of decoding (best of the repeats).</param>
/// <param name="PromptTokens">Prompt length per row.</param>
/// <param name="NewTokens">Tokens generated per row.</param>
public sealed record GenerationTiming(string DType, int Batch, TimeSpan TimeToFirstToken, double DecodeTokensPerSecond,
                                      int PromptTokens, int NewTokens);

/// <summary>
/// Generation speed of the KV-cache <see cref="TokenGenerator"/>: time to first token and decode tokens/s for a
/// batch of equal-length prompts, greedy, with no stop token so every row generates exactly the asked number of
/// tokens. Behind <c>llamaboard bench generate</c> and the llama.cpp comparison in bench/GenerateBench.
/// </summary>
public static class GenerationBenchmark
{
    /// <summary>
    /// Model sizes by name: <c>100m</c> is a Llama-architecture model of 112M parameters (hidden 768, 10 layers,
    /// 12 heads with 4 KV heads, MLP 2048, a 32,000-row vocabulary, untied head); <c>tiny</c> is for smoke runs.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, ModelShape> Sizes = new Dictionary<string, ModelShape>(StringComparer.OrdinalIgnoreCase)
    {
        ["tiny"] = new ModelShape(64, 2, 4, 2, 128, 512),
        ["100m"] = new ModelShape(768, 10, 12, 4, 2048, 32000),
    };

    /// <summary>The benchmark's model type (llama.cpp's best-supported graph).</summary>
    public const string ModelType = "llama";

    /// <summary>Writes a random fp32 model of <paramref name="size"/> (with the built-in tokenizer) unless one is there.</summary>
    /// <exception cref="ArgumentException">Unknown size.</exception>
    public static string EnsureModel(string folder, string size)
    {
        if (!Sizes.TryGetValue(size, out var shape))
            throw new ArgumentException($"size '{size}' is not one of {string.Join(", ", Sizes.Keys)}.", nameof(size));
        if (File.Exists(Path.Combine(folder, HfModelLoader.ConfigFileName)))
        {
            var config = HfModelLoader.ReadConfig(folder);
            if (config.HiddenSize == shape.HiddenSize && config.NumLayers == shape.Layers && config.VocabSize == shape.VocabSize) return folder;
            throw new ArgumentException($"{folder} holds another model (hidden {config.HiddenSize}, {config.NumLayers} layers); choose an empty folder.");
        }
        ModelScaffold.Create(new ModelScaffoldOptions(ModelType, shape, folder)
        {
            Seed = 1234,
            ConfigOverrides = new JsonObject { ["tie_word_embeddings"] = false },
        });
        return folder;
    }

    /// <summary>
    /// <paramref name="rows"/> prompts of <paramref name="length"/> ids, different per row and the same on every call,
    /// drawn from the built-in tokenizer's ids (below 512) so that any engine can read them.
    /// </summary>
    public static List<int[]> Prompts(int rows, int length, int vocabSize)
    {
        int limit = Math.Min(vocabSize, 512);
        var random = new Random(20241127);
        return [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(3, limit)).ToArray())];
    }

    /// <summary>
    /// Measures <paramref name="model"/>: one short warm-up generation, then <paramref name="repeats"/> timed ones;
    /// the best time to first token and the best decode speed are kept (the machine may be shared).
    /// </summary>
    public static GenerationTiming Measure(DecoderModel model, string dtypeName, int batch, int promptTokens, int newTokens, int repeats = 2)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (batch < 1 || promptTokens < 1 || newTokens < 2 || repeats < 1)
            throw new ArgumentException("batch, prompt tokens and repeats must be at least 1, and new tokens at least 2.");
        var prompts = Prompts(batch, promptTokens, model.Config.VocabSize);
        var generator = new TokenGenerator(model);
        var request = new GenerationRequest([.. prompts.Select(p => (IReadOnlyList<int>)p)], SamplingOptions.Greedy(newTokens), [], 0);
        generator.Generate(request with { Sampling = SamplingOptions.Greedy(2) });
        TimeSpan firstToken = TimeSpan.MaxValue;
        double decode = 0;
        for (int i = 0; i < repeats; i++)
        {
            var result = generator.Generate(request);
            if (result.Steps != newTokens)
                throw new InvalidOperationException($"the generator stopped after {result.Steps} of {newTokens} tokens.");
            if (result.TimeToFirstToken < firstToken) firstToken = result.TimeToFirstToken;
            decode = Math.Max(decode, result.DecodeTokensPerSecond(batch));
        }
        return new GenerationTiming(dtypeName, batch, firstToken, decode, promptTokens, newTokens);
    }

    /// <summary>Loads <paramref name="folder"/> in <paramref name="dtype"/> on the CPU and measures each batch size.</summary>
    public static List<GenerationTiming> MeasureFolder(string folder, ScalarType dtype, string dtypeName, IEnumerable<int> batches,
                                                       int promptTokens, int newTokens, int repeats = 2)
    {
        using var loaded = HfModelLoader.Load(folder, dtype, CPU);
        loaded.Model.eval();
        return [.. batches.Select(b => Measure(loaded.Model, dtypeName, b, promptTokens, newTokens, repeats))];
    }
}
