using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Multi-head self-attention with grouped key/value heads (HF <c>self_attn</c>).
/// <code>
///   x (B, T, hidden) ─q_proj→ (B, T, H·D) → (B, H, T, D) ─[q_norm]─ RoPE ─┐
///                    ─k_proj→ (B, T, K·D) → (B, K, T, D) ─[k_norm]─ RoPE ─┼─ cache ─ repeat K→H ─┐
///                    ─v_proj→ (B, T, K·D) → (B, K, T, D) ─────────────────┘                      ├─ attention → (B, H, T, D)
///   grouped-query: each of the K key/value heads serves H/K query heads (K = 1: multi-query)      │
///   out (B, T, hidden) ←o_proj─ (B, T, H·D) ←──────────────────────────────────────────────────────┘
/// </code>
/// Attention runs through scaled_dot_product_attention, except with logit soft-capping (Gemma 2), which needs
/// the scores themselves and so takes the explicit path.
/// </summary>
public sealed class Attention : nn.Module<Tensor, DecoderContext, Tensor>
{
    /// <summary>HF names of the projections, in checkpoint order.</summary>
    public static readonly IReadOnlyList<string> ProjectionNames = ["q_proj", "k_proj", "v_proj", "o_proj"];

    [ComponentName(Name = "q_proj")] nn.Module<Tensor, Tensor> qProj;
    [ComponentName(Name = "k_proj")] nn.Module<Tensor, Tensor> kProj;
    [ComponentName(Name = "v_proj")] nn.Module<Tensor, Tensor> vProj;
    [ComponentName(Name = "o_proj")] nn.Module<Tensor, Tensor> oProj;
    [ComponentName(Name = "q_norm")] readonly RmsNorm? qNorm;
    [ComponentName(Name = "k_norm")] readonly RmsNorm? kNorm;

    readonly int layer;
    readonly int heads;
    readonly int kvHeads;
    readonly int headDim;
    readonly double scale;
    readonly double? softcap;
    readonly RopeSettings rope;

    /// <summary>Creates the attention of layer <paramref name="layer"/> with uninitialised weights.</summary>
    public Attention(ModelConfig config, int layer, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        this.layer = layer;
        heads = config.NumHeads;
        kvHeads = config.NumKvHeads;
        headDim = config.HeadDim;
        scale = config.AttentionScale;
        softcap = config.AttentionLogitSoftcap;
        rope = config.RopeOf(layer);
        qProj = ModuleSlots.EmptyLinear(config.HiddenSize, heads * headDim, config.QkvBias, dtype, device);
        kProj = ModuleSlots.EmptyLinear(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype, device);
        vProj = ModuleSlots.EmptyLinear(config.HiddenSize, kvHeads * headDim, config.QkvBias, dtype, device);
        oProj = ModuleSlots.EmptyLinear(heads * headDim, config.HiddenSize, config.OutputBias, dtype, device);
        if (config.QkNorm)
        {
            qNorm = new RmsNorm(headDim, config.NormEps, config.NormUnitOffset, dtype, device);
            kNorm = new RmsNorm(headDim, config.NormEps, config.NormUnitOffset, dtype, device);
        }
        RegisterComponents();
    }

    /// <summary>x (B, T, hidden) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor x, DecoderContext context)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], length = x.shape[1];
        var q = qProj.call(x).view(batch, length, heads, headDim);        // (B, T, H, D)
        var k = kProj.call(x).view(batch, length, kvHeads, headDim);      // (B, T, K, D)
        var v = vProj.call(x).view(batch, length, kvHeads, headDim);      // (B, T, K, D)
        if (qNorm is not null) q = qNorm.call(q);
        if (kNorm is not null) k = kNorm!.call(k);
        q = q.transpose(1, 2);                                            // (B, H, T, D)
        k = k.transpose(1, 2);                                            // (B, K, T, D)
        v = v.transpose(1, 2);                                            // (B, K, T, D)
        var (cos, sin) = context.RotaryFor(rope);                         // (B, 1, T, R)
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        if (context.Cache is { } cache) (k, v) = cache.Write(layer, k, v);  // (B, K, S, D)
        k = RepeatKv(k);                                                  // (B, H, S, D)
        v = RepeatKv(v);

        var mask = context.MaskOf(layer);
        var attended = softcap is null ? FusedAttention(q, k, v, mask) : ExplicitAttention(q, k, v, mask); // (B, H, T, D)
        var merged = attended.transpose(1, 2).reshape(batch, length, heads * headDim);                    // (B, T, H·D)
        return oProj.call(merged).MoveToOuterDisposeScope();
    }

    /// <summary>(B, K, S, D) → (B, H, S, D): each key/value head repeated for the H/K query heads it serves.</summary>
    Tensor RepeatKv(Tensor t)
    {
        if (kvHeads == heads) return t;
        long batch = t.shape[0], slots = t.shape[2];
        return t.unsqueeze(2).expand(batch, kvHeads, heads / kvHeads, slots, headDim).reshape(batch, heads, slots, headDim);
    }

    Tensor FusedAttention(Tensor q, Tensor k, Tensor v, LayerAttentionMask mask)
    {
        // scaled_dot_product_attention always scales by 1/sqrt(D); fold any other scale into the queries.
        double defaultScale = 1.0 / Math.Sqrt(headDim);
        if (Math.Abs(scale - defaultScale) > 1e-12 * defaultScale) q = q * (scale / defaultScale);
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask.Allowed,
                                                          is_casual: mask.Allowed is null && mask.IsCausal);
    }

    Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, LayerAttentionMask mask)
    {
        var scores = q.matmul(k.transpose(-1, -2)) * scale;               // (B, H, T, S)
        if (softcap is { } cap) scores = (scores / cap).tanh() * cap;
        var allowed = mask.Allowed;
        if (allowed is null && mask.IsCausal)
            allowed = ones(scores.shape[^2], scores.shape[^1], dtype: ScalarType.Bool, device: q.device).tril();
        if (allowed is not null) scores = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity);
        var probabilities = scores.softmax(-1, ScalarType.Float32).to_type(q.dtype);
        return probabilities.matmul(v);                                    // (B, H, T, D)
    }

    /// <summary>The projection called <paramref name="name"/> (q_proj, k_proj, v_proj or o_proj).</summary>
    public nn.Module<Tensor, Tensor> Projection(string name) => name switch
    {
        "q_proj" => qProj,
        "k_proj" => kProj,
        "v_proj" => vProj,
        "o_proj" => oProj,
        _ => throw new ArgumentException($"Attention has no projection '{name}' (it has {string.Join(", ", ProjectionNames)}).", nameof(name)),
    };

    /// <summary>Swaps projection <paramref name="name"/> for a module with the same input and output.</summary>
    public void ReplaceProjection(string name, nn.Module<Tensor, Tensor> replacement)
    {
        _ = Projection(name);
        switch (name)
        {
            case "q_proj": qProj = replacement; break;
            case "k_proj": kProj = replacement; break;
            case "v_proj": vProj = replacement; break;
            default: oProj = replacement; break;
        }
        ModuleSlots.Replace(_internal_submodules, name, replacement, register_module!);
    }
}
