using System.Text.Json.Nodes;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>
/// Tiny configurations of every family (hidden 32, 2–3 layers, vocab 128), each exercising the family's
/// peculiarities: GQA/MQA, head_dim ≠ hidden/heads, partial rotary, RoPE scaling variants, short sliding windows.
/// </summary>
internal static class TinyModels
{
    public static readonly string[] Families = ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3"];

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (string family in Families) data.Add(family);
        return data;
    }

    public const int Vocab = 128;

    public static ModelShape Shape(string family) => family switch
    {
        "gemma" => new(32, 2, 4, 1, 64, Vocab, HeadDim: 16),            // multi-query, head_dim 16 ≠ 32 / 4
        "qwen3" => new(32, 2, 4, 2, 64, Vocab, HeadDim: 16),
        "gemma2" or "gemma3_text" => new(32, 3, 4, 2, 64, Vocab, HeadDim: 8),
        _ => new(32, 2, 4, 2, 64, Vocab),
    };

    public static JsonObject Overrides(string family) => family switch
    {
        "llama" => new JsonObject
        {
            ["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
                ["original_max_position_embeddings"] = 64,
            },
            ["max_position_embeddings"] = 512, ["attention_bias"] = true,
        },
        "mistral" => new JsonObject { ["sliding_window"] = 3 },
        "qwen2" => new JsonObject { ["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 }, ["max_position_embeddings"] = 64 },
        "qwen3" => new JsonObject { ["rope_theta"] = 1_000_000.0 },
        "gemma2" => new JsonObject { ["sliding_window"] = 3 },
        "gemma3_text" => new JsonObject
        {
            ["sliding_window"] = 3, ["sliding_window_pattern"] = 2,
            ["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0 },
        },
        "phi3" => new JsonObject { ["partial_rotary_factor"] = 0.5, ["sliding_window"] = 5 },
        _ => [],
    };

    public static ModelConfig Config(string family) => ModelConfigFactory.NewConfig(family, Shape(family), Overrides(family));

    public static DecoderModel Create(string family, ScalarType dtype = ScalarType.Float32, ulong seed = 1) =>
        Create(Config(family), dtype, seed);

    public static DecoderModel Create(ModelConfig config, ScalarType dtype = ScalarType.Float32, ulong seed = 1)
    {
        var model = DecoderModel.Create(config, dtype, CPU);
        ModelInitializer.Initialize(model, seed);
        // Random norms, so that a wrong norm convention or a missing norm shows in the logits.
        using var _ = no_grad();
        using var generator = new Generator(seed + 1000);
        foreach (var (name, p) in model.NamedParameters())
            if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal))
                p.add_(empty(p.shape, dtype: p.dtype).normal_(0, 0.3, generator));
        return model;
    }

    public static Tensor Ids(long batch, long length, ulong seed = 7)
    {
        using var generator = new Generator(seed);
        return randint(1, Vocab, [batch, length], generator: generator, dtype: ScalarType.Int64);
    }

    public static void Close(Tensor expected, Tensor actual, double tolerance = 1e-4, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        double difference = (expected.to_type(ScalarType.Float64) - actual.to_type(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(difference <= tolerance, $"{what ?? "values"} differ by {difference} (tolerance {tolerance}).");
    }
}
