using static TorchSharp.torch;

namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// A weight quantized to 8 bits per output row, as LLM.int8() quantizes weights: each row keeps its absolute
/// maximum, and every value is stored as round(127 · w / absmax_row) in int8. LLM.int8()'s mixed-precision
/// decomposition of outlier activation columns is not done: the weight is dequantized for the matmul (in the compute
/// dtype), so activations are never quantized and there are no activation outliers to route around.
/// </summary>
public sealed class Int8Weight : IQuantizedWeight
{
    /// <summary>Rows quantized per pass, bounding temporary memory.</summary>
    const long ElementsPerPass = 1L << 20;

    Int8Weight(Tensor codes, Tensor scales)
    {
        Codes = codes;
        Scales = scales;
        Shape = codes.shape;
    }

    /// <inheritdoc />
    public long[] Shape { get; }

    /// <summary>The int8 values (out, in).</summary>
    public Tensor Codes { get; }

    /// <summary>absmax / 127 per row (out), fp32.</summary>
    public Tensor Scales { get; }

    /// <inheritdoc />
    public long StorageBytes => Codes.numel() + Scales.numel() * sizeof(float);

    /// <inheritdoc />
    public string Description => "int8 per-row absmax";

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> Buffers => [("weight", Codes), ("scales", Scales)];

    /// <summary>Quantizes the (out, in) matrix <paramref name="weight"/> on its device.</summary>
    public static Int8Weight Quantize(Tensor weight)
    {
        if (weight.dim() != 2) throw new ArgumentException($"int8 quantization needs a matrix, got [{string.Join(", ", weight.shape)}].", nameof(weight));
        long rows = weight.shape[0], columns = weight.shape[1];
        var codes = empty(rows, columns, dtype: ScalarType.Int8, device: weight.device).DetachFromDisposeScope();
        var scales = empty(rows, dtype: ScalarType.Float32, device: weight.device).DetachFromDisposeScope();
        long rowsPerPass = Math.Max(1, ElementsPerPass / Math.Max(1, columns));
        using var _ = no_grad();
        for (long first = 0; first < rows; first += rowsPerPass)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(rowsPerPass, rows - first);
            var part = weight.narrow(0, first, count).to_type(ScalarType.Float32);           // (r, in)
            var scale = part.abs().amax([1]).clamp_min(1e-38) / 127.0;                       // (r)
            codes.narrow(0, first, count).copy_((part / scale.unsqueeze(1)).round().clamp(-127, 127).to_type(ScalarType.Int8));
            scales.narrow(0, first, count).copy_(scale);
        }
        return new Int8Weight(codes, scales);
    }

    /// <inheritdoc />
    public Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var weight = Codes.to_type(ScalarType.Float32).mul_(Scales.unsqueeze(1));          // (out, in) fp32
        return weight.to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Codes.Dispose();
        Scales.Dispose();
    }
}
