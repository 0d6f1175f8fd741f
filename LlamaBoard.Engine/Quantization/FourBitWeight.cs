using static TorchSharp.torch;

namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// A weight quantized to 4 bits as QLoRA / bitsandbytes do it: the flattened weight is cut into blocks of 64 values;
/// each block stores its absolute maximum (absmax) and, per value, the index of the nearest code-book entry
/// (<see cref="QuantizationCodes.Nf4"/> or <see cref="QuantizationCodes.Fp4"/>) to value / absmax. Two indices are
/// packed per byte, the first value in the high nibble. With double quantization the absmax constants are themselves
/// quantized: their mean is subtracted (the offset) and the rest is stored as 8-bit indices into
/// <see cref="QuantizationCodes.Dynamic8"/> with one fp32 absmax per block of 256 constants, which brings the cost of
/// the scales from 32/64 = 0.5 to 8/64 + 32/(64·256) ≈ 0.127 bits per weight.
/// </summary>
public sealed class FourBitWeight : IQuantizedWeight
{
    /// <summary>Values per quantization block (bitsandbytes' default for 4-bit weights).</summary>
    public const int BlockSize = 64;

    /// <summary>Block scales per block of the double quantization.</summary>
    public const int NestedBlockSize = 256;

    /// <summary>Blocks quantized per pass, bounding the temporary memory of quantizing one large matrix.</summary>
    const long BlocksPerPass = 1L << 14;

    FourBitWeight(long[] shape, FourBitFormat format, Tensor packed, Tensor codeBook, Tensor? absmax,
                  Tensor? nestedCodes, Tensor? nestedAbsmax, Tensor? nestedCodeBook, float offset)
    {
        Shape = shape;
        Format = format;
        Packed = packed;
        CodeBook = codeBook;
        Absmax = absmax;
        NestedCodes = nestedCodes;
        NestedAbsmax = nestedAbsmax;
        NestedCodeBook = nestedCodeBook;
        Offset = offset;
    }

    /// <inheritdoc />
    public long[] Shape { get; }

    /// <summary>nf4 or fp4.</summary>
    public FourBitFormat Format { get; }

    /// <summary>Two 4-bit indices per byte: (blocks · 32) uint8, padded with zero codes to whole blocks.</summary>
    public Tensor Packed { get; }

    /// <summary>The 16-entry code book, fp32 (bitsandbytes' quant_map).</summary>
    public Tensor CodeBook { get; }

    /// <summary>The per-block absmax (blocks) fp32, or null with double quantization.</summary>
    public Tensor? Absmax { get; }

    /// <summary>Double quantization: 8-bit indices of absmax − offset, (blocks rounded up to 256) uint8.</summary>
    public Tensor? NestedCodes { get; }

    /// <summary>Double quantization: one fp32 absmax per 256 block scales.</summary>
    public Tensor? NestedAbsmax { get; }

    /// <summary>Double quantization: the 256-entry dynamic code book.</summary>
    public Tensor? NestedCodeBook { get; }

    /// <summary>Double quantization: the mean of the block scales, subtracted before quantizing them.</summary>
    public float Offset { get; }

    /// <summary>True when the block scales are quantized too.</summary>
    public bool DoubleQuantized => NestedCodes is not null;

    long Count => Shape.Aggregate(1L, (a, b) => a * b);

    long Blocks => (Count + BlockSize - 1) / BlockSize;

    /// <inheritdoc />
    public long StorageBytes =>
        Buffers.Sum(b => b.Tensor.numel() * b.Tensor.element_size()) + (DoubleQuantized ? sizeof(float) : 0);

    /// <inheritdoc />
    public string Description => $"{(Format == FourBitFormat.Nf4 ? "nf4" : "fp4")}{(DoubleQuantized ? ", double-quantized scales" : "")}";

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> Buffers =>
        DoubleQuantized
            ? [("weight", Packed), ("quant_map", CodeBook), ("absmax", NestedCodes!), ("nested_absmax", NestedAbsmax!), ("nested_quant_map", NestedCodeBook!)]
            : [("weight", Packed), ("quant_map", CodeBook), ("absmax", Absmax!)];

    /// <summary>
    /// Quantizes <paramref name="weight"/> (any shape, any float dtype) on its device. Rounding is to the nearest
    /// code-book entry, ties to the lower one, as bitsandbytes' reference (bucketize on the midpoints) does.
    /// </summary>
    public static FourBitWeight Quantize(Tensor weight, FourBitFormat format, bool doubleQuantization)
    {
        var device = weight.device;
        long count = weight.numel();
        if (count == 0) throw new ArgumentException("Cannot quantize an empty tensor.", nameof(weight));
        long blocks = (count + BlockSize - 1) / BlockSize;
        var table = QuantizationCodes.Of(format);
        // Sort the code book once: bucketize wants ascending boundaries, and FP4's indices are bit patterns, not ranks.
        int[] order = Enumerable.Range(0, 16).OrderBy(i => table[i]).ToArray();
        var midpoints = Enumerable.Range(0, 15).Select(i => (table[order[i]] + table[order[i + 1]]) / 2f).ToArray();

        var packed = empty(blocks * BlockSize / 2, dtype: ScalarType.Byte, device: device).DetachFromDisposeScope();
        var absmax = empty(blocks, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var rankToCode = tensor(order.Select(i => (long)i).ToArray(), device: device);    // (16)
            var flat = weight.reshape(-1);                                                    // (n)
            for (long first = 0; first < blocks; first += BlocksPerPass)
            {
                using var pass = NewDisposeScope();
                long passBlocks = Math.Min(BlocksPerPass, blocks - first);
                long start = first * BlockSize, length = Math.Min(passBlocks * BlockSize, count - start);
                var values = flat.narrow(0, start, length).to_type(ScalarType.Float32);       // (len)
                if (length < passBlocks * BlockSize)
                    values = nn.functional.pad(values, [0, passBlocks * BlockSize - length]);  // zeros keep every absmax
                var grid = values.view(passBlocks, BlockSize);                                // (b, 64)
                var scale = grid.abs().amax([1]);                                             // (b)
                // As bitsandbytes: x · (1 / absmax), clamped; an all-zero block scales by 1/1e-38 and stays zero.
                var scaled = (grid * scale.clamp_min(1e-38).reciprocal().unsqueeze(1)).clamp(-1, 1);
                // The rank is the number of midpoints strictly below the value (bucketize's rule, ties to the lower
                // code), counted in uint8 with 15 comparisons: several times faster than bucketize on CPU.
                var ranks = zeros(scaled.shape, dtype: ScalarType.Byte, device: device);     // (b, 64) 0…15
                foreach (float midpoint in midpoints) ranks.add_(scaled.gt(midpoint));
                var codes = format == FourBitFormat.Nf4 ? ranks
                    : rankToCode.index_select(0, ranks.view(-1).to_type(ScalarType.Int64)).to_type(ScalarType.Byte).view(ranks.shape);
                var pairs = codes.view(-1, 2);                                                // (b·32, 2)
                var bytes = pairs.select(1, 0).mul(16).add_(pairs.select(1, 1));             // uint8: high nibble first
                packed.narrow(0, first * BlockSize / 2, passBlocks * BlockSize / 2).copy_(bytes);
                absmax.narrow(0, first, passBlocks).copy_(scale);
            }
        }
        var codeBook = tensor(table.ToArray(), device: device).DetachFromDisposeScope();
        if (!doubleQuantization)
            return new FourBitWeight(weight.shape, format, packed, codeBook, absmax, null, null, null, 0f);

        try
        {
            var (nestedCodes, nestedAbsmax, nestedCodeBook, offset) = QuantizeScales(absmax);
            return new FourBitWeight(weight.shape, format, packed, codeBook, null, nestedCodes, nestedAbsmax, nestedCodeBook, offset);
        }
        finally
        {
            absmax.Dispose();
        }
    }

    /// <summary>
    /// Double quantization of the block scales (bitsandbytes' compress_statistics): subtract their mean, then
    /// 8-bit blockwise quantization (blocks of 256) with the dynamic code.
    /// </summary>
    static (Tensor Codes, Tensor Absmax, Tensor CodeBook, float Offset) QuantizeScales(Tensor absmax)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = absmax.device;
        long count = absmax.numel();
        long groups = (count + NestedBlockSize - 1) / NestedBlockSize;
        float offset = absmax.mean().item<float>();
        var centred = absmax - offset;                                                       // (blocks)
        if (groups * NestedBlockSize > count) centred = nn.functional.pad(centred, [0, groups * NestedBlockSize - count]);
        var grid = centred.view(groups, NestedBlockSize);                                    // (g, 256)
        var scale = grid.abs().amax([1]);                                                    // (g)
        var scaled = (grid * scale.clamp_min(1e-38).reciprocal().unsqueeze(1)).clamp(-1, 1);
        var code = QuantizationCodes.Dynamic8.ToArray();
        var bounds = tensor(Enumerable.Range(0, 255).Select(i => (code[i] + code[i + 1]) / 2f).ToArray(), device: device);
        var codes = bucketize(scaled, bounds).to_type(ScalarType.Byte).view(-1);            // (g·256)
        return (codes.MoveToOuterDisposeScope().DetachFromDisposeScope(), scale.MoveToOuterDisposeScope().DetachFromDisposeScope(),
                tensor(code, device: device).DetachFromDisposeScope(), offset);
    }

    /// <summary>The fp32 block scales (blocks), decoding the double quantization when present.</summary>
    public Tensor BlockScales()
    {
        if (Absmax is not null) return Absmax.clone();
        using var scope = NewDisposeScope();
        var decoded = NestedCodeBook!.index_select(0, NestedCodes!.to_type(ScalarType.Int64))  // (g·256)
                                     .view(-1, NestedBlockSize) * NestedAbsmax!.unsqueeze(1);   // (g, 256)
        return (decoded.view(-1).narrow(0, 0, Blocks) + Offset).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // One gather per byte: entry b of the pair table is (code[b >> 4], code[b & 15]).
        var bytes = arange(256, dtype: ScalarType.Int64, device: Packed.device);
        var pairTable = stack([CodeBook.index_select(0, bytes.div(16, RoundingMode.floor)), CodeBook.index_select(0, bytes.remainder(16))], 1); // (256, 2)
        // int32 indices and an in-place scale keep the temporaries at 2 + 4 bytes per weight (this runs every forward).
        var values = pairTable.index_select(0, Packed.to_type(ScalarType.Int32)).view(-1, BlockSize); // (blocks, 64) fp32
        var weight = values.mul_(BlockScales().unsqueeze(1)).view(-1).narrow(0, 0, Count).view(Shape); // (out, in) fp32
        return weight.to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, tensor) in Buffers) tensor.Dispose();
    }
}
