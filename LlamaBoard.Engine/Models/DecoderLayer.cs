using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// One pre-norm transformer block (HF <c>model.layers.N</c>).
/// <code>
///   Llama layout                               Gemma 2/3 sandwich layout
///   h = x + attn(input_layernorm(x))           h = x + post_attention_layernorm(attn(input_layernorm(x)))
///   y = h + mlp(post_attention_layernorm(h))   y = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
/// </code>
/// (HF reuses the name post_attention_layernorm for different roles in the two layouts.)
/// </summary>
public sealed class DecoderLayer : nn.Module<Tensor, DecoderContext, Tensor>
{
    [ComponentName(Name = "self_attn")] readonly Attention selfAttn;
    [ComponentName(Name = "mlp")] readonly GatedMlp mlp;
    [ComponentName(Name = "input_layernorm")] readonly RmsNorm inputNorm;
    [ComponentName(Name = "post_attention_layernorm")] readonly RmsNorm postAttentionNorm;
    [ComponentName(Name = "pre_feedforward_layernorm")] readonly RmsNorm? preFeedforwardNorm;
    [ComponentName(Name = "post_feedforward_layernorm")] readonly RmsNorm? postFeedforwardNorm;

    /// <summary>Creates layer <paramref name="index"/> with uninitialised weights.</summary>
    public DecoderLayer(ModelConfig config, int index, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        Index = index;
        selfAttn = new Attention(config, index, dtype, device);
        mlp = new GatedMlp(config, dtype, device);
        inputNorm = new RmsNorm(config.HiddenSize, config.NormEps, config.NormUnitOffset, dtype, device);
        postAttentionNorm = new RmsNorm(config.HiddenSize, config.NormEps, config.NormUnitOffset, dtype, device);
        if (config.SandwichNorms)
        {
            preFeedforwardNorm = new RmsNorm(config.HiddenSize, config.NormEps, config.NormUnitOffset, dtype, device);
            postFeedforwardNorm = new RmsNorm(config.HiddenSize, config.NormEps, config.NormUnitOffset, dtype, device);
        }
        RegisterComponents();
    }

    /// <summary>Position of the layer in the stack.</summary>
    public int Index { get; }

    /// <summary>The attention block.</summary>
    public Attention SelfAttention => selfAttn;

    /// <summary>The feed-forward block.</summary>
    public GatedMlp Mlp => mlp;

    /// <summary>x (B, T, hidden) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor x, DecoderContext context)
    {
        using var scope = NewDisposeScope();
        var attended = selfAttn.call(inputNorm.call(x), context);
        if (preFeedforwardNorm is null)
        {
            var h = x + attended;
            return (h + mlp.call(postAttentionNorm.call(h))).MoveToOuterDisposeScope();
        }
        var sandwiched = x + postAttentionNorm.call(attended);
        var fed = postFeedforwardNorm!.call(mlp.call(preFeedforwardNorm.call(sandwiched)));
        return (sandwiched + fed).MoveToOuterDisposeScope();
    }
}
