using static TorchSharp.torch;

namespace LlamaBoard.Engine.Quantization;

/// <summary>A weight matrix held in a quantized form; it owns its tensors.</summary>
public interface IQuantizedWeight : IDisposable
{
    /// <summary>The logical shape (out, in).</summary>
    long[] Shape { get; }

    /// <summary>Bytes the quantized form occupies (codes, scales and tables).</summary>
    long StorageBytes { get; }

    /// <summary>A short description, for example "nf4, double-quantized scales".</summary>
    string Description { get; }

    /// <summary>The tensors that hold the weight, by the names under which a module registers them as buffers.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> Buffers { get; }

    /// <summary>The weight (out, in) in <paramref name="dtype"/>, newly made; the caller owns it.</summary>
    Tensor Dequantize(ScalarType dtype);
}
