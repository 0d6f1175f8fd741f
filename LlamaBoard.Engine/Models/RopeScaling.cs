namespace LlamaBoard.Engine.Models;

/// <summary>Inverse frequencies of one RoPE variant, and the factor applied to cos and sin (YaRN, LongRoPE).</summary>
/// <param name="InverseFrequencies">One frequency per rotated pair (length Dim / 2).</param>
/// <param name="AttentionFactor">Multiplier of cos and sin (1 for most variants).</param>
public sealed record RopeFrequencies(double[] InverseFrequencies, double AttentionFactor);

/// <summary>
/// RoPE variants by <c>rope_type</c>, as a registry (the same keys and formulas as transformers'
/// ROPE_INIT_FUNCTIONS in modeling_rope_utils.py), computed in double precision.
/// </summary>
public static class RopeScaling
{
    delegate RopeFrequencies Init(RopeSettings rope, long? sequenceLength);

    static readonly Dictionary<string, Init> Registry = new(StringComparer.Ordinal)
    {
        ["default"] = (rope, _) => new(Ladder(rope.Theta, rope.Dim), 1.0),
        ["linear"] = Linear,
        ["dynamic"] = Dynamic,
        ["yarn"] = Yarn,
        ["llama3"] = Llama3,
        ["longrope"] = LongRope,
    };

    /// <summary>The known rope types.</summary>
    public static IReadOnlyCollection<string> Types => Registry.Keys;

    /// <summary>True when <paramref name="type"/> is a known rope type.</summary>
    public static bool IsKnown(string type) => Registry.ContainsKey(type);

    /// <summary>
    /// True for variants whose frequencies depend on the current sequence length (dynamic NTK grows its base past
    /// the trained length; LongRoPE switches from short to long factors).
    /// </summary>
    public static bool DependsOnLength(string type) => type is "dynamic" or "longrope";

    /// <summary>
    /// Frequencies for <paramref name="rope"/>. <paramref name="sequenceLength"/> (largest position + 1 of the
    /// current call) matters only where <see cref="DependsOnLength"/> is true.
    /// </summary>
    public static RopeFrequencies Compute(RopeSettings rope, long? sequenceLength = null) =>
        Registry.TryGetValue(rope.Type, out var init)
            ? init(rope, sequenceLength)
            : throw new ArgumentException($"Unknown rope type '{rope.Type}' (known: {string.Join(", ", Types)}).", nameof(rope));

    /// <summary>θ^(-2i/d) for i = 0 … d/2 − 1: the original RoPE frequencies.</summary>
    static double[] Ladder(double theta, int dim)
    {
        var result = new double[dim / 2];
        for (int i = 0; i < result.Length; i++) result[i] = 1.0 / Math.Pow(theta, 2.0 * i / dim);
        return result;
    }

    // Position interpolation: every frequency divided by the factor.
    static RopeFrequencies Linear(RopeSettings rope, long? _) =>
        new(Ladder(rope.Theta, rope.Dim).Select(f => f / rope.Factor).ToArray(), 1.0);

    // Dynamic NTK: past the trained length L, the base grows to θ·((s·len/L) − (s − 1))^(d/(d−2)).
    static RopeFrequencies Dynamic(RopeSettings rope, long? sequenceLength)
    {
        double trained = rope.MaxPositionEmbeddings;
        double length = Math.Max(sequenceLength ?? rope.MaxPositionEmbeddings, trained);
        double d = rope.Dim;
        double theta = rope.Theta * Math.Pow(rope.Factor * length / trained - (rope.Factor - 1), d / (d - 2));
        return new(Ladder(theta, rope.Dim), 1.0);
    }

    static double YarnMscale(double scale, double mscale = 1) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    // YaRN: interpolate low frequencies, keep high ones, ramp linearly between the dimensions that complete
    // beta_fast and beta_slow rotations over the trained length; cos/sin are scaled by the attention factor.
    static RopeFrequencies Yarn(RopeSettings rope, long? _)
    {
        double factor = rope.Factor;
        double trained = rope.MaxPositionEmbeddings;
        if (rope.OriginalMaxPositionEmbeddings is { } original)
        {
            // As transformers does: with an explicit original length the factor is max_position / original.
            trained = original;
            factor = (double)rope.MaxPositionEmbeddings / original;
        }
        double attention = rope.AttentionFactor
            ?? (rope.Mscale is { } m && m != 0 && rope.MscaleAllDim is { } all && all != 0
                ? YarnMscale(factor, m) / YarnMscale(factor, all)
                : YarnMscale(factor));
        double betaFast = rope.BetaFast is { } bf && bf != 0 ? bf : 32;
        double betaSlow = rope.BetaSlow is { } bs && bs != 0 ? bs : 1;
        int dim = rope.Dim;

        double CorrectionDim(double rotations) =>
            dim * Math.Log(trained / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));
        double low = CorrectionDim(betaFast), high = CorrectionDim(betaSlow);
        if (rope.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001; // avoid a zero-width ramp

        var ladder = Ladder(rope.Theta, dim);
        var result = new double[ladder.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            double extrapolation = 1 - ramp; // 1 = keep the original frequency, 0 = interpolate fully
            result[i] = ladder[i] / factor * (1 - extrapolation) + ladder[i] * extrapolation;
        }
        return new(result, attention);
    }

    // Llama 3.1: wavelengths longer than L/low_freq_factor are divided by the factor, shorter than
    // L/high_freq_factor kept, and those between blended smoothly.
    static RopeFrequencies Llama3(RopeSettings rope, long? _)
    {
        double factor = rope.Factor;
        double low = rope.LowFreqFactor ?? throw new ArgumentException("rope_scaling llama3 needs low_freq_factor.");
        double high = rope.HighFreqFactor ?? throw new ArgumentException("rope_scaling llama3 needs high_freq_factor.");
        double original = rope.OriginalMaxPositionEmbeddings
            ?? throw new ArgumentException("rope_scaling llama3 needs original_max_position_embeddings.");
        double lowWavelength = original / low, highWavelength = original / high;
        var result = Ladder(rope.Theta, rope.Dim);
        for (int i = 0; i < result.Length; i++)
        {
            double f = result[i];
            double wavelength = 2 * Math.PI / f;
            if (wavelength > lowWavelength)
                result[i] = f / factor;
            else if (wavelength >= highWavelength)
            {
                double smooth = (original / wavelength - low) / (high - low);
                result[i] = (1 - smooth) * f / factor + smooth * f;
            }
        }
        return new(result, 1.0);
    }

    // LongRoPE (Phi-3 128k): per-pair rescale factors, short ones within the original length, long ones past it.
    static RopeFrequencies LongRope(RopeSettings rope, long? sequenceLength)
    {
        double original = rope.OriginalMaxPositionEmbeddings ?? rope.MaxPositionEmbeddings;
        double factor = rope.OriginalMaxPositionEmbeddings is { } o ? (double)rope.MaxPositionEmbeddings / o : rope.Factor;
        double attention = rope.AttentionFactor
            ?? (factor <= 1 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
        bool isLong = sequenceLength is { } length && length > original;
        var factors = (isLong ? rope.LongFactor : rope.ShortFactor)
            ?? throw new ArgumentException("rope_scaling longrope needs short_factor and long_factor.");
        var ladder = Ladder(rope.Theta, rope.Dim);
        if (factors.Count != ladder.Length)
            throw new ArgumentException($"rope_scaling longrope: {factors.Count} factors given, {ladder.Length} expected (one per rotated pair).");
        return new(ladder.Select((f, i) => f / factors[i]).ToArray(), attention);
    }
}
