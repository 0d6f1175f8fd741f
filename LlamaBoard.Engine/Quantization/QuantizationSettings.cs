using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Quantization;

/// <summary>How the frozen base weights are quantized while loading (LLaMA-Factory's quantization_* keys).</summary>
/// <param name="Bits">4 (NF4/FP4 blocks of 64) or 8 (int8 per row).</param>
/// <param name="Format">The 4-bit data type.</param>
/// <param name="DoubleQuantization">4-bit: quantize the block scales too.</param>
public sealed record QuantizationSettings(int Bits, FourBitFormat Format = FourBitFormat.Nf4, bool DoubleQuantization = true)
{
    /// <summary>The settings of <paramref name="options"/>, or null when quantization_bit is not set.</summary>
    /// <exception cref="ArgumentException">quantization_bit is neither 4 nor 8.</exception>
    public static QuantizationSettings? From(LlamaBoardOptions options)
    {
        var quantization = options.Model.Quantization;
        if (quantization.Bit is not { } bits) return null;
        if (bits is not (4 or 8))
            throw new ArgumentException($"quantization_bit: {bits} is not supported; use 4 (nf4/fp4) or 8 (int8).");
        return new QuantizationSettings(bits, quantization.Type == QuantizationType.Fp4 ? FourBitFormat.Fp4 : FourBitFormat.Nf4,
                                        quantization.DoubleQuantization);
    }

    /// <summary>Quantizes one (out, in) weight matrix.</summary>
    public IQuantizedWeight Quantize(TorchSharp.torch.Tensor weight) =>
        Bits == 4 ? FourBitWeight.Quantize(weight, Format, DoubleQuantization) : Int8Weight.Quantize(weight);

    /// <summary>For logs: "4-bit nf4 with double quantization", "8-bit int8".</summary>
    public override string ToString() =>
        Bits == 8 ? "8-bit int8 (per-row scales)"
                  : $"4-bit {(Format == FourBitFormat.Nf4 ? "nf4" : "fp4")}{(DoubleQuantization ? " with double quantization" : "")}";
}
