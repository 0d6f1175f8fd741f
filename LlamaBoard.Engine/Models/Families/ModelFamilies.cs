using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// The supported families, keyed by config.json <c>model_type</c>. Each preset is data: the transformers config
/// class defaults (values as in transformers' configuration_*.py), the family's fixed flags, and its mapper.
/// </summary>
public static class ModelFamilies
{
    static KeyValuePair<string, JsonNode?> D(string key, object? value) =>
        new(key, value switch
        {
            null => null,
            JsonNode node => node,
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            int i => JsonValue.Create(i),
            long l => JsonValue.Create(l),
            double d => HfJson.Number(d),
            _ => throw new ArgumentException($"Unsupported default type {value.GetType()}"),
        });

    // Keys every decoder config carries, with transformers' LlamaConfig defaults.
    static KeyValuePair<string, JsonNode?>[] Core(int vocab, int hidden, int intermediate, int layers, int heads,
                                                   int? kvHeads, int maxPositions, double eps, double theta, bool tie) =>
    [
        D("vocab_size", vocab), D("hidden_size", hidden), D("intermediate_size", intermediate),
        D("num_hidden_layers", layers), D("num_attention_heads", heads), D("num_key_value_heads", kvHeads),
        D("max_position_embeddings", maxPositions), D("initializer_range", 0.02), D("rms_norm_eps", eps),
        D("use_cache", true), D("tie_word_embeddings", tie), D("rope_theta", theta), D("rope_scaling", null),
        D("attention_dropout", 0.0),
    ];

    /// <summary>Llama 1/2/3 (LlamaForCausalLM).</summary>
    public static readonly ModelFamily Llama = new()
    {
        ModelType = "llama",
        Architecture = "LlamaForCausalLM",
        Defaults = [.. Core(32000, 4096, 11008, 32, 32, null, 2048, 1e-6, 10000.0, false),
                    D("hidden_act", "silu"), D("attention_bias", false), D("mlp_bias", false), D("head_dim", null),
                    D("pretraining_tp", 1), D("bos_token_id", 1), D("eos_token_id", 2)],
        ReadsAttentionBias = true,
        ReadsMlpBias = true,
        Mapper = new IdentityMapper(),
    };

    /// <summary>Mistral (MistralForCausalLM): Llama with an optional sliding window on every layer.</summary>
    public static readonly ModelFamily Mistral = new()
    {
        ModelType = "mistral",
        Architecture = "MistralForCausalLM",
        Defaults = [.. Core(32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6, 10000.0, false),
                    D("hidden_act", "silu"), D("head_dim", null), D("sliding_window", 4096),
                    D("bos_token_id", 1), D("eos_token_id", 2)],
        ReadsAttentionBias = true,
        SlidingWindows = SlidingWindowRule.AllLayersWhenSet,
        Mapper = new IdentityMapper(),
    };

    /// <summary>Qwen2 and Qwen2.5 (Qwen2ForCausalLM): bias on q/k/v.</summary>
    public static readonly ModelFamily Qwen2 = new()
    {
        ModelType = "qwen2",
        Architecture = "Qwen2ForCausalLM",
        Defaults = [.. Core(151936, 4096, 22016, 32, 32, 32, 32768, 1e-6, 10000.0, false),
                    D("hidden_act", "silu"), D("use_sliding_window", false), D("sliding_window", 4096),
                    D("max_window_layers", 28)],
        QkvBias = true,
        SlidingWindows = SlidingWindowRule.FromMaxWindowLayers,
        WritesLayerTypes = true,
        Mapper = new IdentityMapper(),
    };

    /// <summary>Qwen3 (Qwen3ForCausalLM): RMSNorm on queries and keys, explicit head_dim.</summary>
    public static readonly ModelFamily Qwen3 = new()
    {
        ModelType = "qwen3",
        Architecture = "Qwen3ForCausalLM",
        Defaults = [.. Core(151936, 4096, 22016, 32, 32, 32, 32768, 1e-6, 10000.0, false),
                    D("head_dim", 128), D("hidden_act", "silu"), D("attention_bias", false),
                    D("use_sliding_window", false), D("sliding_window", 4096), D("max_window_layers", 28)],
        ReadsAttentionBias = true,
        QkNorm = true,
        SlidingWindows = SlidingWindowRule.FromMaxWindowLayers,
        WritesLayerTypes = true,
        Mapper = new IdentityMapper(),
    };

    /// <summary>Gemma (GemmaForCausalLM): GeGLU, (1 + weight) norms, scaled embeddings, tied head.</summary>
    public static readonly ModelFamily Gemma = new()
    {
        ModelType = "gemma",
        Architecture = "GemmaForCausalLM",
        Defaults = [.. Core(256000, 3072, 24576, 28, 16, 16, 8192, 1e-6, 10000.0, true),
                    D("head_dim", 256), D("hidden_act", "gelu_pytorch_tanh"), D("hidden_activation", "gelu_pytorch_tanh"),
                    D("attention_bias", false), D("pad_token_id", 0), D("eos_token_id", 1), D("bos_token_id", 2)],
        ReadsAttentionBias = true,
        NormUnitOffset = true,
        ScaleEmbeddings = true,
        // Gemma was trained with the tanh approximation; early configs say hidden_act "gelu" but transformers
        // (since 4.39) reads hidden_activation and defaults to gelu_pytorch_tanh, as we do.
        ActivationKeys = ["hidden_activation"],
        Mapper = new IdentityMapper(),
    };

    /// <summary>Gemma 2 (Gemma2ForCausalLM): sandwich norms, soft-capping, alternating local/global layers.</summary>
    public static readonly ModelFamily Gemma2 = new()
    {
        ModelType = "gemma2",
        Architecture = "Gemma2ForCausalLM",
        Defaults = [.. Core(256000, 2304, 9216, 26, 8, 4, 8192, 1e-6, 10000.0, true),
                    D("head_dim", 256), D("hidden_activation", "gelu_pytorch_tanh"), D("attention_bias", false),
                    D("query_pre_attn_scalar", 256), D("sliding_window", 4096), D("final_logit_softcapping", 30.0),
                    D("attn_logit_softcapping", 50.0), D("cache_implementation", "hybrid"),
                    D("pad_token_id", 0), D("eos_token_id", 1), D("bos_token_id", 2)],
        ReadsAttentionBias = true,
        NormUnitOffset = true,
        ScaleEmbeddings = true,
        SandwichNorms = true,
        ActivationKeys = ["hidden_activation"],
        ReadsQueryPreAttnScalar = true,
        ReadsSoftcapping = true,
        SlidingWindows = SlidingWindowRule.Pattern,
        SlidingPattern = 2,
        WritesLayerTypes = true,
        Mapper = new IdentityMapper(),
    };

    /// <summary>Gemma 3 text (Gemma3ForCausalLM): Gemma 2 plus q/k norms, 5 local : 1 global, separate local RoPE base.</summary>
    public static readonly ModelFamily Gemma3Text = new()
    {
        ModelType = "gemma3_text",
        Architecture = "Gemma3ForCausalLM",
        Defaults = [.. Core(262208, 2304, 9216, 26, 8, 4, 131072, 1e-6, 1_000_000.0, true),
                    D("head_dim", 256), D("hidden_activation", "gelu_pytorch_tanh"), D("attention_bias", false),
                    D("query_pre_attn_scalar", 256), D("sliding_window", 4096), D("final_logit_softcapping", null),
                    D("attn_logit_softcapping", null), D("cache_implementation", "hybrid"),
                    D("rope_local_base_freq", 10000.0), D("sliding_window_pattern", 6),
                    D("pad_token_id", 0), D("eos_token_id", 1), D("bos_token_id", 2)],
        ReadsAttentionBias = true,
        QkNorm = true,
        NormUnitOffset = true,
        ScaleEmbeddings = true,
        SandwichNorms = true,
        ActivationKeys = ["hidden_activation"],
        ReadsQueryPreAttnScalar = true,
        ReadsSoftcapping = true,
        SlidingWindows = SlidingWindowRule.Pattern,
        SlidingPattern = 6,
        LocalRopeBase = true,
        WritesLayerTypes = true,
        Mapper = new IdentityMapper(),
    };

    /// <summary>
    /// Gemma 3 multimodal checkpoints (Gemma3ForConditionalGeneration): the text model nested under
    /// <c>text_config</c> and <c>language_model</c>; the vision tower is skipped and saving writes gemma3_text.
    /// </summary>
    public static readonly ModelFamily Gemma3 = Gemma3Text with
    {
        ModelType = "gemma3",
        Architecture = "Gemma3ForConditionalGeneration",
        TextConfigKey = "text_config",
        TextModelType = "gemma3_text",
        Mapper = new IdentityMapper(
            loadPrefixes: [("model.language_model.", "model."), ("language_model.model.", "model."),
                           ("language_model.lm_head.", "lm_head.")],
            ignoredPrefixes: ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."]),
    };

    /// <summary>Phi-3 (Phi3ForCausalLM): fused qkv_proj and gate_up_proj in checkpoints, partial rotary, LongRoPE.</summary>
    public static readonly ModelFamily Phi3 = new()
    {
        ModelType = "phi3",
        Architecture = "Phi3ForCausalLM",
        Defaults = [.. Core(32064, 3072, 8192, 32, 32, null, 4096, 1e-5, 10000.0, false),
                    D("hidden_act", "silu"), D("resid_pdrop", 0.0), D("embd_pdrop", 0.0),
                    D("original_max_position_embeddings", 4096), D("partial_rotary_factor", 1.0),
                    D("sliding_window", null), D("bos_token_id", 1), D("eos_token_id", 32000), D("pad_token_id", 32000)],
        SlidingWindows = SlidingWindowRule.AllLayersWhenSet,
        ReadsPartialRotary = true,
        Mapper = new Phi3FusedMapper(),
    };

    static readonly Dictionary<string, ModelFamily> ByType =
        new[] { Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3Text, Gemma3, Phi3 }
            .ToDictionary(f => f.ModelType, StringComparer.Ordinal);

    /// <summary>The supported model_type values.</summary>
    public static IReadOnlyCollection<string> SupportedTypes => ByType.Keys;

    /// <summary>The family of <paramref name="modelType"/>.</summary>
    /// <exception cref="NotSupportedException">The model type is not supported; the message lists those that are.</exception>
    public static ModelFamily Get(string modelType) =>
        ByType.TryGetValue(modelType, out var family) ? family
            : throw new NotSupportedException(
                $"model_type '{modelType}' is not supported. Supported model types: {string.Join(", ", SupportedTypes)}.");

    /// <summary>True when <paramref name="modelType"/> is supported.</summary>
    public static bool IsSupported(string modelType) => ByType.ContainsKey(modelType);
}
