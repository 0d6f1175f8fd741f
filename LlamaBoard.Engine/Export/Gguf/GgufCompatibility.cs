using System.Globalization;
using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>
/// A model cannot be written as GGUF: its architecture, a feature of it, or the requested tensor type has no
/// llama.cpp equivalent. The message names every missing piece.
/// </summary>
public sealed class GgufExportException : NotSupportedException
{
    /// <summary>Creates the exception.</summary>
    public GgufExportException(string message) : base(message) { }
}

/// <summary>
/// Compares a <see cref="ModelConfig"/> with what llama.cpp's graph for its GGUF architecture computes, so that an
/// export either reproduces the model or is refused with the reasons. Differences that only matter past a
/// length (sliding windows llama.cpp does not apply, dynamic NTK RoPE) are reported as warnings.
/// </summary>
public static class GgufCompatibility
{
    static readonly (GgufFeature Feature, string Description)[] Descriptions =
    [
        (GgufFeature.QkvBias, "bias on the q/k/v projections"),
        (GgufFeature.OutputBias, "bias on o_proj (attention_bias)"),
        (GgufFeature.MlpBias, "bias on the MLP projections (mlp_bias)"),
        (GgufFeature.QkNorm, "RMSNorm on queries and keys (q_norm/k_norm)"),
        (GgufFeature.NormUnitOffset, "RMSNorm scaling by 1 + weight"),
        (GgufFeature.ScaleEmbeddings, "embeddings scaled by sqrt(hidden_size)"),
        (GgufFeature.SandwichNorms, "norms after attention and around the MLP (pre/post_feedforward_layernorm)"),
        (GgufFeature.AttentionSoftcap, "attention logit soft-capping (attn_logit_softcapping)"),
        (GgufFeature.FinalSoftcap, "final logit soft-capping (final_logit_softcapping)"),
        (GgufFeature.PartialRotary, "partial rotary embedding (partial_rotary_factor < 1)"),
        (GgufFeature.WideHeads, "num_attention_heads × head_dim different from hidden_size"),
    ];

    /// <summary>The features <paramref name="config"/> uses.</summary>
    public static GgufFeature FeaturesOf(ModelConfig config)
    {
        var f = GgufFeature.None;
        if (config.QkvBias) f |= GgufFeature.QkvBias;
        if (config.OutputBias) f |= GgufFeature.OutputBias;
        if (config.MlpBias) f |= GgufFeature.MlpBias;
        if (config.QkNorm) f |= GgufFeature.QkNorm;
        if (config.NormUnitOffset) f |= GgufFeature.NormUnitOffset;
        if (config.ScaleEmbeddings) f |= GgufFeature.ScaleEmbeddings;
        if (config.SandwichNorms) f |= GgufFeature.SandwichNorms;
        if (config.AttentionLogitSoftcap is not null) f |= GgufFeature.AttentionSoftcap;
        if (config.FinalLogitSoftcap is not null) f |= GgufFeature.FinalSoftcap;
        if (config.Rope.Dim < config.HeadDim) f |= GgufFeature.PartialRotary;
        if ((long)config.NumHeads * config.HeadDim != config.HiddenSize) f |= GgufFeature.WideHeads;
        return f;
    }

    /// <summary>
    /// Checks that <paramref name="architecture"/> reproduces <paramref name="config"/>; returns warnings about
    /// differences that only show past some length.
    /// </summary>
    /// <exception cref="GgufExportException">Something cannot be expressed; every problem is listed.</exception>
    public static IReadOnlyList<string> Check(ModelConfig config, GgufArchitecture architecture)
    {
        var problems = new List<string>();
        var warnings = new List<string>();
        string arch = architecture.Name;
        var features = FeaturesOf(config);
        foreach (var (feature, description) in Descriptions)
        {
            if (features.HasFlag(feature) && !architecture.Supported.HasFlag(feature))
                problems.Add($"the model uses {description}, which llama.cpp's '{arch}' graph does not implement");
            else if (!features.HasFlag(feature) && architecture.Required.HasFlag(feature))
                problems.Add($"llama.cpp's '{arch}' graph always applies {description}, which this model does not use");
        }
        if (!architecture.Activations.Contains(config.Activation))
            problems.Add($"the MLP activation is '{config.Activation}', but llama.cpp's '{arch}' graph computes {string.Join(" / ", architecture.Activations)}");

        double expectedScale = architecture.AttentionScale(config);
        if (Math.Abs(config.AttentionScale - expectedScale) > 1e-9 * expectedScale)
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"the attention scale is {config.AttentionScale:G6} (query_pre_attn_scalar), but llama.cpp's '{arch}' graph uses {expectedScale:G6} for this shape"));

        CheckRope(config, architecture, problems, warnings);
        CheckSlidingWindow(config, architecture, problems, warnings);

        if (problems.Count > 0)
            throw new GgufExportException(
                $"This {config.ModelType} model cannot be exported to GGUF for llama.cpp's '{arch}' architecture:\n  - " +
                string.Join("\n  - ", problems) + "\nExport it with export_format: hf instead.");
        return warnings;
    }

    static void CheckRope(ModelConfig config, GgufArchitecture architecture, List<string> problems, List<string> warnings)
    {
        string arch = architecture.Name;
        var rope = config.Rope;
        if (rope.Type == "dynamic")
            warnings.Add($"llama.cpp has no dynamic NTK RoPE scaling: the GGUF uses plain RoPE, which is the same up to " +
                         $"max_position_embeddings ({rope.MaxPositionEmbeddings} tokens) and differs beyond it.");
        else if (rope.Type != "default" && !architecture.RopeTypes.Contains(rope.Type))
            problems.Add($"rope_scaling type '{rope.Type}' cannot be expressed for llama.cpp's '{arch}' graph " +
                         $"(it supports {string.Join(", ", architecture.RopeTypes.Prepend("default"))})");
        if (rope.Type == "yarn")
        {
            if (rope.AttentionFactor is not null || rope.Mscale is not null || rope.MscaleAllDim is not null)
                problems.Add("rope_scaling yarn with attention_factor, mscale or mscale_all_dim has no GGUF equivalent here");
            if (!rope.Truncate)
                problems.Add("rope_scaling yarn with truncate: false has no GGUF equivalent (llama.cpp rounds the ramp bounds)");
        }
        if (config.LocalRope is { } local)
        {
            if (!architecture.LocalRopeBase)
                problems.Add($"sliding layers use their own RoPE settings, which llama.cpp's '{arch}' graph does not support");
            else if (local.Type != "default" || local.Dim != rope.Dim)
                problems.Add($"the sliding layers' RoPE uses scaling '{local.Type}', which llama.cpp's '{arch}' graph does not apply to them");
        }
        else if (architecture.LocalRopeBase && config.LayerTypes.Contains(AttentionKind.Sliding) && rope.Type != "default")
            problems.Add($"llama.cpp's '{arch}' graph applies no RoPE scaling to sliding layers, but this model scales all layers");
    }

    static void CheckSlidingWindow(ModelConfig config, GgufArchitecture architecture, List<string> problems, List<string> warnings)
    {
        string arch = architecture.Name;
        bool anySliding = config.LayerTypes.Contains(AttentionKind.Sliding);
        switch (architecture.SlidingWindow)
        {
            case GgufSlidingWindow.Unsupported when anySliding:
                warnings.Add($"llama.cpp's '{arch}' graph has no sliding window: every layer attends to the whole context, so " +
                             $"outputs match this model only while the context fits in its window ({config.SlidingWindow} tokens).");
                break;
            case GgufSlidingWindow.FixedPattern:
                if (!anySliding || !MatchesPattern(config, architecture.FixedSlidingPattern))
                    problems.Add($"llama.cpp's '{arch}' graph makes every layer but each {Ordinal(architecture.FixedSlidingPattern)} " +
                                 $"a sliding-window layer; this model's layers are {Describe(config)}");
                break;
            case GgufSlidingWindow.PatternKey:
                if (!anySliding)
                    problems.Add($"llama.cpp's '{arch}' graph needs sliding-window layers (sliding_window); this model has none");
                else if (SlidingPattern(config) is null)
                    problems.Add($"llama.cpp's '{arch}' graph makes every Nth layer global; no N gives this model's layers ({Describe(config)})");
                break;
        }
    }

    /// <summary>
    /// The N for which layer i is global exactly when (i + 1) mod N = 0 (llama.cpp's set_swa_pattern), or null.
    /// All-sliding stacks get N = layers + 1.
    /// </summary>
    public static int? SlidingPattern(ModelConfig config)
    {
        for (int n = 2; n <= config.NumLayers + 1; n++)
            if (MatchesPattern(config, n)) return n;
        return null;
    }

    static bool MatchesPattern(ModelConfig config, int n) =>
        Enumerable.Range(0, config.NumLayers).All(i =>
            (config.LayerTypes[i] == AttentionKind.Sliding) == ((i + 1) % n != 0));

    static string Describe(ModelConfig config) =>
        string.Join(", ", config.LayerTypes.Select(t => t == AttentionKind.Sliding ? "sliding" : "full"));

    static string Ordinal(int n) => n switch { 2 => "second", 3 => "third", _ => $"{n}th" };
}
