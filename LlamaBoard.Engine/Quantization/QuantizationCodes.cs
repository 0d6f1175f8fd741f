namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// The code books of bitsandbytes-style quantization: a quantized value is an index into one of these tables, and
/// the table entry times the block's absolute maximum is the dequantized value.
/// </summary>
public static class QuantizationCodes
{
    /// <summary>
    /// NormalFloat4 (QLoRA, Dettmers et al. 2023): 16 levels at quantiles of N(0, 1) normalised to [-1, 1], with an
    /// exact zero and one more positive level than negative ones. These are the published values (bitsandbytes'
    /// table), in index order, which is also ascending order.
    /// </summary>
    public static IReadOnlyList<float> Nf4 { get; } =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    /// <summary>
    /// FP4 as bitsandbytes defines it: 1 sign bit, 2 exponent bits (bias 2) and 1 mantissa bit, in bit-pattern order
    /// (index = the 4-bit code): 0b0000 = 0, 0b0001 = 0.0625 (subnormal), 0b0010 = 8, 0b0011 = 12, 0b0100 = 4,
    /// 0b0101 = 6, 0b0110 = 2, 0b0111 = 3, and the same negated with the sign bit 0b1000; normalised by 12 so the
    /// largest magnitude is 1. Unlike NF4 the index is a float encoding, so the table is not sorted.
    /// </summary>
    public static IReadOnlyList<float> Fp4 { get; } =
        new float[] { 0, 0.0625f, 8, 12, 4, 6, 2, 3, -0f, -0.0625f, -8, -12, -4, -6, -2, -3 }.Select(v => v / 12f).ToArray();

    /// <summary>The 4-bit table for <paramref name="format"/>.</summary>
    public static IReadOnlyList<float> Of(FourBitFormat format) => format == FourBitFormat.Nf4 ? Nf4 : Fp4;

    /// <summary>
    /// bitsandbytes' signed 8-bit "dynamic" code (Dettmers 2015, 8-bit approximations), used for the double
    /// quantization of block scales: a sign, a run of zero bits that sets the decimal exponent (10⁻⁶ … 10⁰), an
    /// indicator bit, and the remaining bits as a linear fraction in [0.1, 1]. 127 magnitudes per sign, plus 0 and 1,
    /// sorted ascending (256 entries). Computed in float32 as bitsandbytes' create_dynamic_map does, so the entries are
    /// the same floats.
    /// </summary>
    public static IReadOnlyList<float> Dynamic8 { get; } = CreateDynamic8();

    static float[] CreateDynamic8()
    {
        const int maxExponentBits = 7, nonSignBits = 7;
        var data = new List<float>(256);
        for (int i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = (1 << (i + nonSignBits - maxExponentBits)) + 1;
            var boundaries = LinspaceFloat(0.1f, 1f, fractionItems);
            float magnitude = (float)Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int j = 0; j + 1 < boundaries.Length; j++)
            {
                float mean = (boundaries[j] + boundaries[j + 1]) / 2f;
                data.Add(magnitude * mean);
                data.Add(-(magnitude * mean));
            }
        }
        data.Add(0f);
        data.Add(1f);
        var sorted = data.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>torch.linspace in float32: the first half counts up from start, the second half down from end.</summary>
    static float[] LinspaceFloat(float start, float end, int steps)
    {
        var values = new float[steps];
        if (steps == 1) { values[0] = start; return values; }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++)
            values[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
        return values;
    }
}

/// <summary>The 4-bit data type (quantization_type).</summary>
public enum FourBitFormat
{
    /// <summary>NormalFloat4.</summary>
    Nf4,
    /// <summary>bitsandbytes' FP4 (e2m1).</summary>
    Fp4,
}
