using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Root-mean-square normalisation over the last dimension, computed in fp32. Two conventions:
/// Llama multiplies the weight after casting back to the input dtype; Gemma multiplies by (1 + weight) in fp32
/// and casts last (so its weights are stored as offsets from one, initialised to zero).
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>, IReplaceableParameters
{
    [ComponentName(Name = "weight")]
    Parameter weight;
    readonly double eps;
    readonly bool unitOffset;

    /// <summary>Creates the norm with an uninitialised weight of <paramref name="dim"/> elements.</summary>
    public RmsNorm(long dim, double eps, bool unitOffset, ScalarType dtype, Device device) : base(nameof(RmsNorm))
    {
        weight = new Parameter(empty(dim, dtype: dtype, device: device));
        this.eps = eps;
        this.unitOffset = unitOffset;
        RegisterComponents();
    }

    /// <summary>The scale (or, with the unit offset, scale minus one), shape (dim).</summary>
    public Parameter Weight => weight;

    /// <summary>True for the Gemma convention (scale by 1 + weight).</summary>
    public bool UnitOffset => unitOffset;

    /// <summary>x (…, dim) → normalised x (…, dim), in x's dtype.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to_type(ScalarType.Float32);
        var normed = x32 * rsqrt(x32.pow(2).mean([-1L], keepdim: true) + eps);
        var result = unitOffset
            ? (normed * (weight.to_type(ScalarType.Float32) + 1)).to_type(x.dtype)
            // Cast back to x's dtype after the product too, in case the weight was kept in fp32 for training.
            : (weight * normed.to_type(x.dtype)).to_type(x.dtype);
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public void ReplaceParameter(string localName, Parameter replacement)
    {
        if (localName != "weight") throw new ArgumentException($"RmsNorm has no parameter '{localName}'.", nameof(localName));
        var old = weight;
        weight = replacement;
        ConditionallyRegisterParameter("weight", replacement);
        if (!ReferenceEquals(old, replacement)) old.Dispose();
    }
}
