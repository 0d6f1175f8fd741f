using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Tokenization;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>One family's tiny model for the llama.cpp cross-check.</summary>
/// <param name="Family">The HF model_type.</param>
/// <param name="Tokenizer">The real tokenizer (a <see cref="TokenizerPackages"/> name) whose vocabulary the model gets.</param>
/// <param name="Shape">Sizes (the vocabulary comes from the tokenizer).</param>
/// <param name="Overrides">config.json keys exercising the family's features (RoPE variants, windows, soft-caps).</param>
public sealed record GgufCase(string Family, string Tokenizer, ModelShape Shape, JsonObject Overrides);

/// <summary>
/// Tiny random models of every GGUF family, made by <see cref="ModelScaffold"/> (what <c>llamaboard init-model
/// --tokenizer</c> runs) with a real tokenizer, once per test run and shared by the export tests. Norm weights and
/// biases are then randomised too (the scaffold sets them to one and zero, as transformers does), so that a wrong
/// norm convention or a misplaced bias shows in the logits.
/// </summary>
internal static class GgufModels
{
    // hidden 64, 2–3 layers, GQA; initializer_range 0.1 so logits are far from uniform and greedy choices are clear.
    // Gemma 3's 262k-token vocabulary makes every step slow, so Gemma 1 and 2 (whose real tokenizers are the same
    // SentencePiece kind) use Llama 2's 32k-token one; gemma3_text keeps Gemma 3's.
    public static readonly GgufCase[] Cases =
    [
        new("llama", "llama3", new(64, 2, 4, 2, 128, 0), new JsonObject
        {
            ["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
                ["original_max_position_embeddings"] = 32,
            },
            ["max_position_embeddings"] = 256, ["attention_bias"] = true, ["mlp_bias"] = true, ["rope_theta"] = 500000.0,
        }),
        new("mistral", "llama2", new(64, 2, 4, 1, 128, 0, HeadDim: 32), new JsonObject { ["sliding_window"] = null }),
        // 151,936 rows as Qwen's releases have: the ids past the tokenizer become unused [PADn] tokens.
        new("qwen2", "qwen3", new(64, 2, 4, 2, 128, 151_936), new JsonObject
        {
            ["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0, ["original_max_position_embeddings"] = 32 },
            ["max_position_embeddings"] = 128,
        }),
        new("qwen3", "qwen3", new(64, 2, 4, 2, 128, 0, HeadDim: 32), new JsonObject { ["rope_theta"] = 1_000_000.0 }),
        new("gemma", "llama2", new(64, 2, 4, 1, 128, 0, HeadDim: 32), []),
        new("gemma2", "llama2", new(64, 2, 4, 2, 128, 0, HeadDim: 16), new JsonObject
        {
            ["sliding_window"] = 5, ["attn_logit_softcapping"] = 2.0, ["final_logit_softcapping"] = 3.0,
        }),
        new("gemma3_text", "gemma3", new(64, 3, 4, 2, 128, 0, HeadDim: 16), new JsonObject
        {
            ["sliding_window"] = 5, ["sliding_window_pattern"] = 2,
            ["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0 },
        }),
        // LongRoPE as Phi-3 128k: llama.cpp picks the short factors while its context fits the original length, as
        // transformers does while the sequence does.
        new("phi3", "llama2", new(64, 2, 4, 2, 128, 0), new JsonObject
        {
            ["partial_rotary_factor"] = 0.5, ["sliding_window"] = null, ["max_position_embeddings"] = 131072,
            ["original_max_position_embeddings"] = 4096,
            ["rope_scaling"] = new JsonObject
            {
                ["type"] = "longrope", ["short_factor"] = new JsonArray(1.0, 1.3, 2.1, 3.7), ["long_factor"] = new JsonArray(1.5, 4.0, 9.0, 20.0),
            },
        }),
    ];

    public static TheoryData<string> Families()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases) data.Add(c.Family);
        return data;
    }

    public static GgufCase Case(string family) => Cases.Single(c => c.Family == family);

    static readonly string Root = CreateRoot();
    static readonly ConcurrentDictionary<string, Lazy<string>> Folders = new();
    static readonly ConcurrentDictionary<(string, GgmlType), Lazy<GgufExportResult>> Exports = new();

    static string CreateRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), "llamaboard-tests", $"gguf-models-{Guid.NewGuid():N}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        return root;
    }

    /// <summary>The GGUF export of <paramref name="family"/> in <paramref name="type"/>, made once per run.</summary>
    public static GgufExportResult Export(string family, GgmlType type) =>
        Exports.GetOrAdd((family, type), key => new Lazy<GgufExportResult>(() =>
        {
            string folder = Folder(family);
            string output = Path.Combine(Root, "exports", $"{family}-{type}");
            Directory.CreateDirectory(output);
            using var loaded = HfModelLoader.Load(folder, ScalarType.Float32, CPU);
            return GgufExporter.Export(loaded.Model, folder, output, type, $"tiny-{family}", loaded.Generation);
        })).Value;

    /// <summary>The model folder of <paramref name="family"/> (config.json, safetensors, the real tokenizer's files).</summary>
    public static string Folder(string family) =>
        Folders.GetOrAdd(family, f => new Lazy<string>(() => Create(Case(f)))).Value;

    static string Create(GgufCase c)
    {
        Torch.EnsureReady();
        string folder = Path.Combine(Root, c.Family);
        var overrides = c.Overrides.DeepClone().AsObject();
        overrides["initializer_range"] = 0.1;
        ModelScaffold.Create(new ModelScaffoldOptions(c.Family, c.Shape, folder)
        {
            TokenizerDirectory = TokenizerPackages.Folder(c.Tokenizer),
            ConfigOverrides = overrides,
            Seed = 11,
        });
        // Random norms and biases, saved over the scaffold's ones and zeros.
        using (var loaded = HfModelLoader.Load(folder, ScalarType.Float32, CPU))
        {
            using (no_grad())
            using (var generator = new TorchSharp.torch.Generator(12))
            {
                foreach (var (name, p) in loaded.Model.NamedParameters())
                    if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal))
                        p.add_(empty(p.shape, dtype: p.dtype).normal_(0, 0.3, generator));
            }
            HfModelSaver.Save(loaded.Model, folder, ScalarType.Float32, generation: loaded.Generation);
        }
        return folder;
    }

    /// <summary>The prompt used by the comparisons: real text through the real tokenizer.</summary>
    public static IReadOnlyList<int> Prompt(string family)
    {
        var tokenizer = TokenizerPackages.Load(Case(family).Tokenizer);
        return tokenizer.Encode("The quick brown fox jumps over the lazy dog. Über 北京, 1234 tokens!");
    }
}
