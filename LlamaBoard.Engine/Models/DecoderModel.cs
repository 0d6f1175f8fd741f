using LlamaBoard.Engine.Runtime;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Runs one decoder layer; see <see cref="DecoderModel.LayerRunner"/>.</summary>
public delegate Tensor DecoderLayerRunner(DecoderLayer layer, Tensor hidden, DecoderContext context);

/// <summary>The body of the model (HF <c>model</c>): embeddings, decoder layers, final norm.</summary>
public sealed class DecoderStack : nn.Module
{
    [ComponentName(Name = "embed_tokens")] readonly TokenEmbedding embedTokens;
    [ComponentName(Name = "layers")] readonly ModuleList<DecoderLayer> layers;
    [ComponentName(Name = "norm")] readonly RmsNorm norm;
    readonly DecoderLayer[] layerView;

    internal DecoderStack(ModelConfig config, ScalarType dtype, Device device) : base(nameof(DecoderStack))
    {
        embedTokens = new TokenEmbedding(config.VocabSize, config.HiddenSize, dtype, device);
        layers = new ModuleList<DecoderLayer>();
        for (int i = 0; i < config.NumLayers; i++) layers.Add(new DecoderLayer(config, i, dtype, device));
        norm = new RmsNorm(config.HiddenSize, config.NormEps, config.NormUnitOffset, dtype, device);
        layerView = [.. layers];
        RegisterComponents();
    }

    /// <summary>The token embedding (<c>model.embed_tokens</c>).</summary>
    public TokenEmbedding EmbedTokens => embedTokens;
    /// <summary>The decoder layers (<c>model.layers.N</c>).</summary>
    public IReadOnlyList<DecoderLayer> Layers => layerView;
    /// <summary>The final norm (<c>model.norm</c>).</summary>
    public RmsNorm Norm => norm;
}

/// <summary>
/// One decoder-only transformer for every supported family, driven by <see cref="ModelConfig"/>. Module names are
/// Hugging Face parameter names (<c>model.embed_tokens</c>, <c>model.layers.N.self_attn.q_proj</c>, …,
/// <c>model.norm</c>, <c>lm_head</c>), so checkpoints load by identity after the family's name mapper.
/// </summary>
/// <remarks>
/// <para>Inputs: <c>input_ids</c> (B, T) int64; optional <c>position_ids</c> (B, T); optional
/// <c>attention_mask</c> (B, T) int64 where 0 is padding and k &gt; 0 is the id of a packed sample (LLaMA-Factory's
/// neat_packing convention; an ordinary padding mask is the special case of ones): tokens attend causally and only
/// within their own sample. Without position ids, positions restart at 0 in every sample.</para>
/// <para>Training computes the loss in chunks from <see cref="ForwardHidden"/> and <see cref="ComputeLogits"/>
/// without materialising all logits; inference passes a <see cref="KvCache"/>.</para>
/// </remarks>
public sealed partial class DecoderModel : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "model")] readonly DecoderStack model;
    [ComponentName(Name = "lm_head")] nn.Module<Tensor, Tensor>? lmHead;

    DecoderModel(ModelConfig config, ScalarType dtype, Device device) : base(nameof(DecoderModel))
    {
        config.Validate();
        Config = config;
        model = new DecoderStack(config, dtype, device);
        if (!config.TieWordEmbeddings)
            lmHead = ModuleSlots.EmptyLinear(config.HiddenSize, config.VocabSize, bias: false, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model with uninitialised parameters of <paramref name="dtype"/> on <paramref name="device"/>
    /// (memory is reserved, not written: loaders fill it, <see cref="ModelInitializer"/> randomises it).
    /// </summary>
    public static DecoderModel Create(ModelConfig config, ScalarType dtype, Device device)
    {
        TorchRuntime.EnsureInitialized();
        using var _ = no_grad();
        return new DecoderModel(config, dtype, device);
    }

    /// <summary>The architecture.</summary>
    public ModelConfig Config { get; }

    /// <summary>The body (<c>model</c>).</summary>
    public DecoderStack Body => model;

    /// <summary>The decoder layers.</summary>
    public IReadOnlyList<DecoderLayer> Layers => model.Layers;

    /// <summary>The output head, or null when tied to the embedding.</summary>
    public nn.Module<Tensor, Tensor>? LmHead => lmHead;

    /// <summary>Dtype of the embedding, which sets the compute dtype of activations.</summary>
    public ScalarType DType => model.EmbedTokens.Weight.dtype;

    /// <summary>Device of the parameters.</summary>
    public Device Device => model.EmbedTokens.Weight.device;

    /// <summary>
    /// Runs each decoder layer. The default calls the layer; a trainer replaces it to wrap every layer call in one
    /// place, for example with activation checkpointing (the <see cref="DecoderContext"/> stays valid for
    /// recomputation until the caller's dispose scope ends).
    /// </summary>
    public DecoderLayerRunner LayerRunner { get; set; } = static (layer, hidden, context) => layer.call(hidden, context);

    /// <summary>
    /// Called with each intermediate hidden state, (B, T, hidden): "model.embed_tokens" (after scaling),
    /// "model.layers.N" (output of layer N) and "model.norm", for layer-by-layer comparison with other
    /// implementations. The tensor is only valid during the call: clone what you keep.
    /// </summary>
    public Action<string, Tensor>? Trace { get; set; }

    /// <summary>
    /// Applied to the input embeddings (B, T, hidden), after Gemma's scaling, before the first layer; null = none.
    /// The trainer uses it for NEFTune's training-time noise.
    /// </summary>
    public Func<Tensor, Tensor>? EmbeddingTransform { get; set; }

    /// <summary>A KV cache sized for this model.</summary>
    public KvCache CreateCache() => new(Config.NumLayers);

    /// <summary>Logits for <paramref name="inputIds"/> (B, T) → (B, T, vocab).</summary>
    public override Tensor forward(Tensor inputIds) => Forward(inputIds);

    /// <summary>Logits (B, T, vocab); see <see cref="ForwardHidden"/> for the arguments.</summary>
    public Tensor Forward(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = ForwardHidden(inputIds, positionIds, attentionMask, cache);
        return ComputeLogits(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Final normed hidden states (B, T, hidden) for <paramref name="inputIds"/> (B, T) int64.
    /// </summary>
    /// <param name="inputIds">Token ids (B, T), int64.</param>
    /// <param name="positionIds">(B, T) int64; default: restarting per sample and continuing after the cache.</param>
    /// <param name="attentionMask">(B, T), or (B, past + T) with a cache; 0 = padding, k &gt; 0 = packed sample id.</param>
    /// <param name="cache">KV cache for incremental decoding; holds the earlier tokens and receives these.</param>
    public Tensor ForwardHidden(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null)
    {
        if (inputIds.dim() != 2 || inputIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"input_ids must be (B, T) int64, got [{string.Join(", ", inputIds.shape)}] {inputIds.dtype}.", nameof(inputIds));
        long batch = inputIds.shape[0];
        int length = (int)inputIds.shape[1];
        int past = cache?.Length ?? 0;
        if (positionIds is not null && !positionIds.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException("position_ids must have the shape of input_ids.", nameof(positionIds));

        var segments = SegmentsOf(attentionMask, cache, batch, length, past, inputIds.device);   // (B, past + T) or null
        var positions = positionIds?.to(ScalarType.Int64, inputIds.device) ?? (segments is null
            ? arange(past, past + length, dtype: ScalarType.Int64, device: inputIds.device).expand(batch, length)
            : DecoderContext.SegmentPositions(segments).narrow(1, past, length));                  // (B, T)
        var context = new DecoderContext(Config, positions, segments, past, cache, DType,
                                         explicitMasks: Config.AttentionLogitSoftcap is not null);

        var hidden = model.EmbedTokens.call(inputIds);                                          // (B, T, hidden)
        if (Config.ScaleEmbeddings)
        {
            // Gemma multiplies by sqrt(hidden) rounded to the activation dtype, exactly as transformers does.
            using var normalizer = tensor(Math.Sqrt(Config.HiddenSize), dtype: hidden.dtype, device: hidden.device);
            var scaled = hidden * normalizer;
            hidden.Dispose();
            hidden = scaled;
        }
        if (EmbeddingTransform is { } transform)
        {
            var transformed = transform(hidden);
            if (!ReferenceEquals(transformed, hidden)) hidden.Dispose();
            hidden = transformed;
        }
        Trace?.Invoke("model.embed_tokens", hidden);
        foreach (var layer in model.Layers)
        {
            Tensor next;
            using (var layerScope = NewDisposeScope())
                next = LayerRunner(layer, hidden, context).MoveToOuterDisposeScope();
            // Autograd keeps its own references; dropping ours frees inference activations layer by layer.
            if (!ReferenceEquals(next, hidden)) hidden.Dispose();
            hidden = next;
            Trace?.Invoke($"model.layers.{layer.Index}", hidden);
        }
        var normed = model.Norm.call(hidden);
        hidden.Dispose();
        Trace?.Invoke("model.norm", normed);
        cache?.Commit(length, batch, segments);
        return normed;
    }

    /// <summary>Logits (…, vocab) from hidden states (…, hidden): the output head plus final soft-capping.</summary>
    public Tensor ComputeLogits(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var logits = lmHead is null ? nn.functional.linear(hidden, model.EmbedTokens.Weight) : lmHead.call(hidden);
        if (Config.FinalLogitSoftcap is { } cap) logits = (logits / cap).tanh() * cap;
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Sample ids of all slots so far, (B, past + T), or null when every token is one sample.</summary>
    static Tensor? SegmentsOf(Tensor? mask, KvCache? cache, long batch, int length, int past, Device device)
    {
        Tensor? current = null;
        if (mask is not null)
        {
            if (mask.dim() != 2 || mask.shape[0] != batch || (mask.shape[1] != length && mask.shape[1] != past + length))
                throw new ArgumentException(
                    $"attention_mask must be (B, T) = ({batch}, {length}) or (B, past + T) = ({batch}, {past + length}), " +
                    $"got [{string.Join(", ", mask.shape)}].", nameof(mask));
            current = (mask.shape[1] == length ? mask : mask.narrow(1, past, length)).to(ScalarType.Int64, device);
        }
        var previous = cache?.Segments;
        if (current is null && previous is null) return null;
        // All ones and nothing earlier: one sample per row, which the plain causal path handles faster.
        if (previous is null && past == 0 && current!.eq(1).all().item<bool>()) return null;
        // New tokens without a mask continue the row's latest sample.
        current ??= previous!.max(1, keepdim: true).values.expand(batch, length);
        if (past == 0) return current;
        previous ??= ones(batch, past, dtype: ScalarType.Int64, device: device);
        return cat([previous, current], 1);
    }
}
