namespace LlamaBoard.Engine.Models;

/// <summary>
/// Rotary position embedding parameters: the config's <c>rope_theta</c> and <c>rope_scaling</c> (or the newer
/// <c>rope_parameters</c>), with the rotated width already resolved from head_dim and partial_rotary_factor.
/// </summary>
public sealed record RopeSettings
{
    /// <summary>Scaling variant, a key of <see cref="RopeScaling"/>: default, linear, dynamic, yarn, llama3, longrope.</summary>
    public string Type { get; init; } = "default";
    /// <summary>Base of the geometric frequency ladder (rope_theta).</summary>
    public double Theta { get; init; } = 10_000;
    /// <summary>Rotated dimensions per head (head_dim × partial_rotary_factor, even); the rest pass through.</summary>
    public required int Dim { get; init; }
    /// <summary>The fraction of head_dim that rotates, as the config wrote it (kept for saving).</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;
    /// <summary>The config's max_position_embeddings.</summary>
    public int MaxPositionEmbeddings { get; init; } = 4096;

    /// <summary>rope_scaling.factor (linear, dynamic, yarn, llama3, longrope).</summary>
    public double Factor { get; init; } = 1.0;
    /// <summary>rope_scaling.original_max_position_embeddings (llama3, yarn), or the config-level one (longrope).</summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }
    /// <summary>rope_scaling.attention_factor: overrides the computed cos/sin magnitude (yarn, longrope).</summary>
    public double? AttentionFactor { get; init; }
    /// <summary>rope_scaling.beta_fast (yarn; default 32).</summary>
    public double? BetaFast { get; init; }
    /// <summary>rope_scaling.beta_slow (yarn; default 1).</summary>
    public double? BetaSlow { get; init; }
    /// <summary>rope_scaling.mscale (yarn, DeepSeek style).</summary>
    public double? Mscale { get; init; }
    /// <summary>rope_scaling.mscale_all_dim (yarn, DeepSeek style).</summary>
    public double? MscaleAllDim { get; init; }
    /// <summary>rope_scaling.truncate (yarn; default true).</summary>
    public bool Truncate { get; init; } = true;
    /// <summary>rope_scaling.low_freq_factor (llama3).</summary>
    public double? LowFreqFactor { get; init; }
    /// <summary>rope_scaling.high_freq_factor (llama3).</summary>
    public double? HighFreqFactor { get; init; }
    /// <summary>rope_scaling.short_factor (longrope), one per rotated pair.</summary>
    public IReadOnlyList<double>? ShortFactor { get; init; }
    /// <summary>rope_scaling.long_factor (longrope), one per rotated pair.</summary>
    public IReadOnlyList<double>? LongFactor { get; init; }
}
