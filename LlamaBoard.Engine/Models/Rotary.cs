using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Rotary position embedding: cos/sin tables from positions, and their application to queries and keys.</summary>
public static class Rotary
{
    /// <summary>
    /// cos and sin for <paramref name="positions"/> (B, T) int64, each (B, 1, T, rope.Dim) in
    /// <paramref name="dtype"/> (the angles are computed in fp32, as transformers does).
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(RopeSettings rope, Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        long? length = RopeScaling.DependsOnLength(rope.Type) ? positions.max().item<long>() + 1 : null;
        var frequencies = RopeScaling.Compute(rope, length);
        var inverse = tensor(frequencies.InverseFrequencies.Select(f => (float)f).ToArray(), device: positions.device); // (R/2)
        var angles = positions.to_type(ScalarType.Float32).unsqueeze(-1) * inverse;   // (B, T, R/2)
        var doubled = cat([angles, angles], -1);                                        // (B, T, R)
        var cos = (doubled.cos() * frequencies.AttentionFactor).to_type(dtype).unsqueeze(1); // (B, 1, T, R)
        var sin = (doubled.sin() * frequencies.AttentionFactor).to_type(dtype).unsqueeze(1);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates the first R = cos.size(-1) dimensions of <paramref name="x"/> (B, heads, T, head_dim) in pairs
    /// (i, i + R/2); the remaining head_dim − R dimensions pass through (partial rotary factor).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long rotated = cos.shape[^1];
        long headDim = x.shape[^1];
        var part = rotated == headDim ? x : x.narrow(-1, 0, rotated);
        var half1 = part.narrow(-1, 0, rotated / 2);
        var half2 = part.narrow(-1, rotated / 2, rotated / 2);
        var turned = part * cos + cat([half2.neg(), half1], -1) * sin;    // (B, heads, T, R)
        var result = rotated == headDim ? turned : cat([turned, x.narrow(-1, rotated, headDim - rotated)], -1);
        return result.MoveToOuterDisposeScope();
    }
}
