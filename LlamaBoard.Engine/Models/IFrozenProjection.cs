using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// A frozen projection (…, in) → (…, out) whose weight is not a plain <c>Linear</c> parameter, for example a
/// quantized one. Adapters wrap it as they wrap a linear layer: they call it for the base output and ask it for its
/// weight densely where the maths needs the matrix itself (DoRA's row norms, merging).
/// </summary>
public interface IFrozenProjection
{
    /// <summary>Input features (the weight's columns).</summary>
    long InFeatures { get; }

    /// <summary>Output features (the weight's rows).</summary>
    long OutFeatures { get; }

    /// <summary>The frozen bias (out) in the compute dtype, or null.</summary>
    Tensor? Bias { get; }

    /// <summary>The device the projection lives on.</summary>
    Device Device { get; }

    /// <summary>The weight as a dense (out, in) fp32 tensor, newly made; the caller owns it.</summary>
    Tensor DenseWeight();
}
