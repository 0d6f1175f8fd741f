using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Whether a decoder layer attends to every earlier token or only to a recent window.</summary>
public enum AttentionKind
{
    /// <summary>Causal attention over the whole sequence (HF "full_attention").</summary>
    Full,
    /// <summary>Causal attention over the last <see cref="ModelConfig.SlidingWindow"/> tokens (HF "sliding_attention").</summary>
    Sliding,
}

/// <summary>
/// Everything <see cref="DecoderModel"/> needs to know about an architecture, as explicit flags. Families differ
/// only in these values (set by the presets in <see cref="ModelFamilies"/>); the model never looks at a family
/// name. Immutable: derive variants with <c>with { … }</c>.
/// </summary>
public sealed record ModelConfig
{
    // ── Identity ─────────────────────────────────────────────────────────────────────────────────────────
    /// <summary>The Hugging Face <c>model_type</c> the weights are saved as ("llama", "qwen2", …).</summary>
    public required string ModelType { get; init; }

    // ── Sizes ────────────────────────────────────────────────────────────────────────────────────────────
    /// <summary>Rows of the embedding and of the output head.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Width of the residual stream.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Width of the MLP's gate and up projections.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Number of decoder layers.</summary>
    public required int NumLayers { get; init; }
    /// <summary>Query heads.</summary>
    public required int NumHeads { get; init; }
    /// <summary>Key/value heads: equal to <see cref="NumHeads"/> for multi-head, 1 for multi-query, else grouped-query.</summary>
    public required int NumKvHeads { get; init; }
    /// <summary>Per-head width; need not be HiddenSize / NumHeads (Gemma 7B: 3072 / 16 heads, head_dim 256).</summary>
    public required int HeadDim { get; init; }
    /// <summary>The context length the model was trained for (used by dynamic and YaRN RoPE).</summary>
    public int MaxPositionEmbeddings { get; init; } = 4096;

    // ── Embeddings and output head ───────────────────────────────────────────────────────────────────────
    /// <summary>The output head reuses the embedding matrix (no lm_head weight).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Multiply embeddings by sqrt(hidden size), rounded to the compute dtype (Gemma family).</summary>
    public bool ScaleEmbeddings { get; init; }
    /// <summary>When set, logits become cap · tanh(logits / cap) (Gemma 2).</summary>
    public double? FinalLogitSoftcap { get; init; }

    // ── Normalisation ────────────────────────────────────────────────────────────────────────────────────
    /// <summary>RMSNorm epsilon.</summary>
    public double NormEps { get; init; } = 1e-6;
    /// <summary>RMSNorm scales by (1 + weight), computed in fp32 (Gemma); otherwise by weight after casting back (Llama).</summary>
    public bool NormUnitOffset { get; init; }
    /// <summary>RMSNorm over head_dim applied to queries and keys before RoPE (Qwen3, Gemma 3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>
    /// Norms on both sides of each sub-block (Gemma 2/3): input_layernorm → attention → post_attention_layernorm,
    /// pre_feedforward_layernorm → MLP → post_feedforward_layernorm. Without it post_attention_layernorm is the
    /// MLP's pre-norm (Llama layout).
    /// </summary>
    public bool SandwichNorms { get; init; }

    // ── Attention ────────────────────────────────────────────────────────────────────────────────────────
    /// <summary>Bias on q_proj, k_proj and v_proj (Qwen2; Llama's attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on o_proj (Llama's attention_bias).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Factor on q·k before softmax: 1/sqrt(head_dim), or query_pre_attn_scalar^-1/2 (Gemma 2/3).</summary>
    public required double AttentionScale { get; init; }
    /// <summary>When set, attention scores become cap · tanh(scores / cap) before masking (Gemma 2).</summary>
    public double? AttentionLogitSoftcap { get; init; }
    /// <summary>Window (in tokens, including the current one) of <see cref="AttentionKind.Sliding"/> layers.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Attention kind of each layer (length <see cref="NumLayers"/>).</summary>
    public required IReadOnlyList<AttentionKind> LayerTypes { get; init; }

    // ── MLP ──────────────────────────────────────────────────────────────────────────────────────────────
    /// <summary>Gate activation name (a key of <see cref="Activations"/>): "silu" (SwiGLU), "gelu_pytorch_tanh", …</summary>
    public string Activation { get; init; } = "silu";
    /// <summary>Bias on gate_proj, up_proj and down_proj (Llama's mlp_bias).</summary>
    public bool MlpBias { get; init; }

    // ── Rotary position embedding ────────────────────────────────────────────────────────────────────────
    /// <summary>RoPE of full-attention layers (and of all layers unless <see cref="LocalRope"/> is set).</summary>
    public required RopeSettings Rope { get; init; }
    /// <summary>RoPE of sliding-window layers when it differs (Gemma 3: base 10,000 and no scaling).</summary>
    public RopeSettings? LocalRope { get; init; }

    // ── Storage and tokens ───────────────────────────────────────────────────────────────────────────────
    /// <summary>The checkpoint's dtype (config <c>torch_dtype</c> or <c>dtype</c>); null when the config names none.</summary>
    public ScalarType? DType { get; init; }
    /// <summary>Beginning-of-sequence token id from config.json, if any.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence token ids from config.json (one or several), empty when none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>Padding token id from config.json, if any.</summary>
    public int? PadTokenId { get; init; }
    /// <summary>Standard deviation of the random initialisation (HF initializer_range).</summary>
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>
    /// The config.json this was read from (raw JSON text), so that saving keeps keys this engine does not model
    /// (token ids, transformers_version, quantisation notes, …). Null for configs built in code.
    /// </summary>
    public string? SourceJson { get; init; }

    // ── Derived ──────────────────────────────────────────────────────────────────────────────────────────
    /// <summary>Query heads per key/value head.</summary>
    public int QueriesPerKv => NumHeads / NumKvHeads;

    /// <summary>Attention window of layer <paramref name="layer"/>, or null for full attention.</summary>
    public int? WindowOf(int layer) => LayerTypes[layer] == AttentionKind.Sliding ? SlidingWindow : null;

    /// <summary>RoPE settings of layer <paramref name="layer"/>.</summary>
    public RopeSettings RopeOf(int layer) =>
        LayerTypes[layer] == AttentionKind.Sliding && LocalRope is not null ? LocalRope : Rope;

    /// <summary>Checks the sizes fit together.</summary>
    /// <exception cref="ArgumentException">They do not; the message names the fields.</exception>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"Model config ({ModelType}): {message}");
        }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumLayers > 0 && NumHeads > 0 && HeadDim > 0,
                "vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and head_dim must be positive.");
        Require(NumKvHeads > 0 && NumHeads % NumKvHeads == 0,
                $"num_attention_heads ({NumHeads}) must be a multiple of num_key_value_heads ({NumKvHeads}).");
        Require(LayerTypes.Count == NumLayers, $"layer_types lists {LayerTypes.Count} layers, but num_hidden_layers is {NumLayers}.");
        Require(!LayerTypes.Contains(AttentionKind.Sliding) || SlidingWindow is > 0,
                "sliding-window layers need a positive sliding_window.");
        Require(Rope.Dim > 0 && Rope.Dim <= HeadDim && Rope.Dim % 2 == 0,
                $"the rotary dimension ({Rope.Dim} = head_dim × partial_rotary_factor) must be even and at most head_dim ({HeadDim}).");
        Require(Activations.IsKnown(Activation), $"unknown activation '{Activation}' (known: {string.Join(", ", Activations.Names)}).");
        Require(RopeScaling.IsKnown(Rope.Type), $"unknown rope type '{Rope.Type}' (known: {string.Join(", ", RopeScaling.Types)}).");
    }
}
