using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>Architecture features a <see cref="ModelConfig"/> may use and a llama.cpp graph may or may not implement.</summary>
[Flags]
public enum GgufFeature
{
    None = 0,
    /// <summary>Bias on q/k/v projections.</summary>
    QkvBias = 1 << 0,
    /// <summary>Bias on o_proj.</summary>
    OutputBias = 1 << 1,
    /// <summary>Bias on the MLP projections.</summary>
    MlpBias = 1 << 2,
    /// <summary>RMSNorm on queries and keys.</summary>
    QkNorm = 1 << 3,
    /// <summary>RMSNorm scaling by (1 + weight).</summary>
    NormUnitOffset = 1 << 4,
    /// <summary>Embeddings multiplied by sqrt(hidden_size).</summary>
    ScaleEmbeddings = 1 << 5,
    /// <summary>Norms after attention and around the MLP.</summary>
    SandwichNorms = 1 << 6,
    /// <summary>Soft-capped attention scores.</summary>
    AttentionSoftcap = 1 << 7,
    /// <summary>Soft-capped logits.</summary>
    FinalSoftcap = 1 << 8,
    /// <summary>Only part of each head rotates (partial_rotary_factor &lt; 1).</summary>
    PartialRotary = 1 << 9,
    /// <summary>heads × head_dim differs from hidden_size.</summary>
    WideHeads = 1 << 10,
}

/// <summary>How a llama.cpp graph applies RoPE to the q/k rows it loads.</summary>
public enum GgufRopeLayout
{
    /// <summary>Rotates adjacent pairs (GGML_ROPE_TYPE_NORM, llama): HF's half-split q/k rows are permuted on export.</summary>
    AdjacentPairs,
    /// <summary>Rotates the two halves (GGML_ROPE_TYPE_NEOX), as transformers does: rows are written as they are.</summary>
    Halves,
}

/// <summary>How an architecture's llama.cpp graph chooses sliding-window layers.</summary>
public enum GgufSlidingWindow
{
    /// <summary>The graph has no sliding window: every layer attends to the whole context.</summary>
    Unsupported,
    /// <summary>Every Nth layer is global, N fixed by llama.cpp (<see cref="GgufArchitecture.FixedSlidingPattern"/>).</summary>
    FixedPattern,
    /// <summary>Every Nth layer is global, N from <c>{arch}.attention.sliding_window_pattern</c>.</summary>
    PatternKey,
}

/// <summary>
/// What llama.cpp's graph for one GGUF architecture computes, as data: the features it implements and requires,
/// the RoPE layout and variants, the sliding-window rule, and the weight conventions its converter applies
/// (convert_hf_to_gguf.py). <see cref="GgufArchitectures"/> holds one per supported Hugging Face model_type.
/// </summary>
public sealed record GgufArchitecture
{
    /// <summary>The value of <c>general.architecture</c> and the prefix of the hyper-parameter keys.</summary>
    public required string Name { get; init; }
    /// <summary>Features the graph implements (optional or required).</summary>
    public GgufFeature Supported { get; init; }
    /// <summary>Features the graph always applies, so the model must have them.</summary>
    public GgufFeature Required { get; init; }
    /// <summary>The MLP gate activations the graph computes, by transformers name.</summary>
    public required IReadOnlyList<string> Activations { get; init; }
    /// <summary>RoPE layout; <see cref="GgufRopeLayout.AdjacentPairs"/> means q/k are permuted on export.</summary>
    public GgufRopeLayout RopeLayout { get; init; } = GgufRopeLayout.Halves;
    /// <summary>rope_type values that can be expressed (besides "default").</summary>
    public IReadOnlyList<string> RopeTypes { get; init; } = ["linear", "yarn"];
    /// <summary>Norm weights are stored as 1 + w (Gemma: llama.cpp's norm multiplies by the stored weight).</summary>
    public bool BakesNormOffset { get; init; }
    /// <summary>q/k/v are stored as one attn_qkv tensor and gate/up as one ffn_up tensor, gate first (Phi-3).</summary>
    public bool FusesProjections { get; init; }
    /// <summary>How sliding-window layers are chosen.</summary>
    public GgufSlidingWindow SlidingWindow { get; init; }
    /// <summary>N for <see cref="GgufSlidingWindow.FixedPattern"/>.</summary>
    public int FixedSlidingPattern { get; init; }
    /// <summary>Sliding layers use their own RoPE base, <c>{arch}.rope.freq_base_swa</c> (Gemma 3).</summary>
    public bool LocalRopeBase { get; init; }
    /// <summary>
    /// The attention scale llama.cpp uses, from the config (most graphs: 1/sqrt(head_dim)); exports of models
    /// whose own scale differs are refused.
    /// </summary>
    public Func<ModelConfig, double> AttentionScale { get; init; } = c => 1.0 / Math.Sqrt(c.HeadDim);
}

/// <summary>The GGUF architecture of each supported Hugging Face model_type, as llama.cpp's graphs define them.</summary>
public static class GgufArchitectures
{
    const GgufFeature GemmaCore = GgufFeature.NormUnitOffset | GgufFeature.ScaleEmbeddings;

    // ggml_gelu is the tanh approximation (transformers' gelu_pytorch_tanh, gelu_new and gelu_fast), not erf GELU.
    static readonly string[] GeluTanh = ["gelu_pytorch_tanh", "gelu_new", "gelu_fast"];

    /// <summary>llama (also Mistral): adjacent-pair RoPE, optional biases, Llama 3 frequency factors.</summary>
    public static readonly GgufArchitecture Llama = new()
    {
        Name = "llama",
        Supported = GgufFeature.QkvBias | GgufFeature.OutputBias | GgufFeature.MlpBias | GgufFeature.WideHeads,
        Activations = ["silu"],
        RopeLayout = GgufRopeLayout.AdjacentPairs,
        RopeTypes = ["linear", "yarn", "llama3"],
    };

    /// <summary>qwen2: q/k/v biases always present.</summary>
    public static readonly GgufArchitecture Qwen2 = new()
    {
        Name = "qwen2",
        Supported = GgufFeature.QkvBias,
        Required = GgufFeature.QkvBias,
        Activations = ["silu"],
    };

    /// <summary>qwen3: q/k norms, explicit head_dim.</summary>
    public static readonly GgufArchitecture Qwen3 = new()
    {
        Name = "qwen3",
        Supported = GgufFeature.QkNorm | GgufFeature.WideHeads,
        Required = GgufFeature.QkNorm,
        Activations = ["silu"],
    };

    /// <summary>gemma: GeGLU, (1 + w) norms, scaled embeddings.</summary>
    public static readonly GgufArchitecture Gemma = new()
    {
        Name = "gemma",
        Supported = GemmaCore | GgufFeature.WideHeads,
        Required = GemmaCore,
        Activations = GeluTanh,
        RopeTypes = ["linear"],
        BakesNormOffset = true,
    };

    /// <summary>gemma2: Gemma plus sandwich norms, soft-capping and alternating local/global layers.</summary>
    public static readonly GgufArchitecture Gemma2 = new()
    {
        Name = "gemma2",
        Supported = GemmaCore | GgufFeature.SandwichNorms | GgufFeature.AttentionSoftcap | GgufFeature.FinalSoftcap | GgufFeature.WideHeads,
        // llama.cpp always soft-caps gemma2 (defaults 50 and 30 when the keys are absent).
        Required = GemmaCore | GgufFeature.SandwichNorms | GgufFeature.AttentionSoftcap | GgufFeature.FinalSoftcap,
        Activations = GeluTanh,
        RopeTypes = ["linear"],
        BakesNormOffset = true,
        SlidingWindow = GgufSlidingWindow.FixedPattern,
        FixedSlidingPattern = 2,
        // llama.cpp: 1/sqrt(hidden/heads) for the 46-layer 27B model, else 1/sqrt(head_dim).
        AttentionScale = c => 1.0 / Math.Sqrt(c.NumLayers == 46 ? (double)c.HiddenSize / c.NumHeads : c.HeadDim),
    };

    /// <summary>gemma3 (text): Gemma 2 without soft-capping, with q/k norms and a local RoPE base.</summary>
    public static readonly GgufArchitecture Gemma3 = new()
    {
        Name = "gemma3",
        Supported = GemmaCore | GgufFeature.SandwichNorms | GgufFeature.QkNorm | GgufFeature.WideHeads,
        Required = GemmaCore | GgufFeature.SandwichNorms | GgufFeature.QkNorm,
        Activations = GeluTanh,
        RopeTypes = ["linear"],
        BakesNormOffset = true,
        SlidingWindow = GgufSlidingWindow.PatternKey,
        LocalRopeBase = true,
        // llama.cpp: 1/sqrt(hidden/heads) for the 62-layer 27B model, else 1/sqrt(head_dim).
        AttentionScale = c => 1.0 / Math.Sqrt(c.NumLayers == 62 ? (double)c.HiddenSize / c.NumHeads : c.HeadDim),
    };

    /// <summary>phi3: fused qkv and gate/up, partial rotary, LongRoPE factors.</summary>
    public static readonly GgufArchitecture Phi3 = new()
    {
        Name = "phi3",
        Supported = GgufFeature.PartialRotary,
        Activations = ["silu"],
        RopeTypes = ["longrope"],
        FusesProjections = true,
    };

    static readonly Dictionary<string, GgufArchitecture> ByModelType = new(StringComparer.Ordinal)
    {
        ["llama"] = Llama,
        ["mistral"] = Llama,
        ["qwen2"] = Qwen2,
        ["qwen3"] = Qwen3,
        ["gemma"] = Gemma,
        ["gemma2"] = Gemma2,
        ["gemma3_text"] = Gemma3,
        ["gemma3"] = Gemma3,
        ["phi3"] = Phi3,
    };

    /// <summary>The model types that can be exported to GGUF.</summary>
    public static IReadOnlyCollection<string> SupportedModelTypes => ByModelType.Keys;

    /// <summary>The GGUF architecture for <paramref name="modelType"/>.</summary>
    /// <exception cref="NotSupportedException">No GGUF mapping exists for it; the message lists those that do.</exception>
    public static GgufArchitecture For(string modelType) =>
        ByModelType.TryGetValue(modelType, out var architecture) ? architecture
            : throw new NotSupportedException(
                $"GGUF export does not support model_type '{modelType}'; it supports {string.Join(", ", ByModelType.Keys)}. " +
                "Export it with export_format: hf instead.");
}
