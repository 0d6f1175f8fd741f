using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Models;

/// <summary>How a family's config.json says which layers attend through a sliding window.</summary>
public enum SlidingWindowRule
{
    /// <summary>No layer does (Llama, Gemma).</summary>
    None,
    /// <summary>Every layer, whenever <c>sliding_window</c> is set (Mistral, Phi-3).</summary>
    AllLayersWhenSet,
    /// <summary>Layers from <c>max_window_layers</c> on, when <c>use_sliding_window</c> is true (Qwen2, Qwen3).</summary>
    FromMaxWindowLayers,
    /// <summary>All but every Nth layer ((i + 1) mod N ≠ 0), N = <c>sliding_window_pattern</c> (Gemma 2: 2, Gemma 3: 6).</summary>
    Pattern,
}

/// <summary>
/// A family preset, as data: the Hugging Face config class defaults and architecture name, the fixed flags of the
/// family, which config keys switch the optional ones, and the weight-name mapper. <see cref="HfConfigReader"/>
/// and <see cref="HfConfigWriter"/> turn config.json into <see cref="ModelConfig"/> and back using only this.
/// </summary>
public sealed record ModelFamily
{
    /// <summary>The config's <c>model_type</c>.</summary>
    public required string ModelType { get; init; }
    /// <summary>The transformers class written to <c>architectures</c> ("LlamaForCausalLM", …).</summary>
    public required string Architecture { get; init; }
    /// <summary>
    /// The transformers config class's defaults: used for keys config.json omits, and the keys (in this order)
    /// that <see cref="HfConfigWriter"/> writes for the family.
    /// </summary>
    public required IReadOnlyList<KeyValuePair<string, JsonNode?>> Defaults { get; init; }

    /// <summary>q/k/v projections always have a bias (Qwen2).</summary>
    public bool QkvBias { get; init; }
    /// <summary>The config's <c>attention_bias</c> adds a bias to q, k, v and o (Llama, Mistral, Qwen3, Gemma).</summary>
    public bool ReadsAttentionBias { get; init; }
    /// <summary>The config's <c>mlp_bias</c> adds a bias to the MLP projections (Llama).</summary>
    public bool ReadsMlpBias { get; init; }
    /// <summary>RMSNorm on queries and keys (Qwen3, Gemma 3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>RMSNorm scales by 1 + weight (Gemma family).</summary>
    public bool NormUnitOffset { get; init; }
    /// <summary>Embeddings are multiplied by sqrt(hidden_size) (Gemma family).</summary>
    public bool ScaleEmbeddings { get; init; }
    /// <summary>Norms after attention and around the MLP (Gemma 2/3).</summary>
    public bool SandwichNorms { get; init; }
    /// <summary>Config keys naming the activation, first present wins ("hidden_activation" for Gemma).</summary>
    public IReadOnlyList<string> ActivationKeys { get; init; } = ["hidden_act"];
    /// <summary>The attention scale is <c>query_pre_attn_scalar</c>^-1/2 (Gemma 2/3).</summary>
    public bool ReadsQueryPreAttnScalar { get; init; }
    /// <summary>Reads attn_logit_softcapping and final_logit_softcapping (Gemma 2/3).</summary>
    public bool ReadsSoftcapping { get; init; }
    /// <summary>How sliding-window layers are chosen (a <c>layer_types</c> list in the config overrides it).</summary>
    public SlidingWindowRule SlidingWindows { get; init; }
    /// <summary>N of <see cref="SlidingWindowRule.Pattern"/> when the config has no <c>sliding_window_pattern</c>.</summary>
    public int SlidingPattern { get; init; }
    /// <summary>Sliding layers use RoPE base <c>rope_local_base_freq</c> without scaling (Gemma 3).</summary>
    public bool LocalRopeBase { get; init; }
    /// <summary>Reads <c>partial_rotary_factor</c> and a config-level <c>original_max_position_embeddings</c> (Phi-3).</summary>
    public bool ReadsPartialRotary { get; init; }
    /// <summary>Writes <c>layer_types</c> (families whose newer transformers configs carry it).</summary>
    public bool WritesLayerTypes { get; init; }
    /// <summary>Maps checkpoint tensor names to model parameter names and back.</summary>
    public required IWeightMapper Mapper { get; init; }
    /// <summary>
    /// For wrappers around a text model (Gemma 3 multimodal): the key of the inner config, whose model_type
    /// gives the family used for the architecture. The wrapper itself only contributes its weight mapper.
    /// </summary>
    public string? TextConfigKey { get; init; }
    /// <summary>The inner config's model_type when it does not say (wrappers only).</summary>
    public string? TextModelType { get; init; }

    /// <summary>The default of <paramref name="key"/>, or null when the family has none.</summary>
    public JsonNode? DefaultOf(string key)
    {
        foreach (var (k, v) in Defaults)
            if (k == key) return v?.DeepClone();
        return null;
    }
}
