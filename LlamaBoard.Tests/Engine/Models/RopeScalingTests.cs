using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>
/// Inverse frequencies of every RoPE variant against values worked out by hand from the formulas in transformers'
/// modeling_rope_utils.py (the llama3 column was evaluated with Python's math module).
/// </summary>
public class RopeScalingTests
{
    static void Near(double expected, double actual, double relative = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Abs(expected) + 1e-300, $"expected {expected}, got {actual}");

    static RopeSettings Rope(string type, double theta = 10000, int dim = 8, int maxPositions = 64) =>
        new() { Type = type, Theta = theta, Dim = dim, MaxPositionEmbeddings = maxPositions };

    [Fact]
    public void Default_is_the_geometric_ladder_theta_to_the_minus_2i_over_d()
    {
        var f = RopeScaling.Compute(Rope("default"));
        Assert.Equal(4, f.InverseFrequencies.Length);
        Near(1.0, f.InverseFrequencies[0]);
        Near(0.1, f.InverseFrequencies[1]);      // 10000^(-2/8)
        Near(0.01, f.InverseFrequencies[2]);
        Near(0.001, f.InverseFrequencies[3]);
        Assert.Equal(1.0, f.AttentionFactor);
    }

    [Fact]
    public void Linear_divides_every_frequency_by_the_factor()
    {
        var f = RopeScaling.Compute(Rope("linear") with { Factor = 4 });
        Near(0.25, f.InverseFrequencies[0]);
        Near(0.025, f.InverseFrequencies[1]);
        Near(0.0025, f.InverseFrequencies[2]);
        Near(0.00025, f.InverseFrequencies[3]);
    }

    [Fact]
    public void Dynamic_ntk_keeps_the_base_within_the_trained_length_and_grows_it_beyond()
    {
        var rope = Rope("dynamic", maxPositions: 16) with { Factor = 2 };
        Assert.True(RopeScaling.DependsOnLength("dynamic"));
        Assert.Equal(RopeScaling.Compute(Rope("default")).InverseFrequencies, RopeScaling.Compute(rope, 16).InverseFrequencies);
        // Length 32: base = 10000 · (2·32/16 − 1)^(8/6) = 10000 · 3^(4/3), so base^(3/4) = 1000 · 3.
        var grown = RopeScaling.Compute(rope, 32).InverseFrequencies;
        Near(1.0, grown[0]);
        Near(1.0 / 3000, grown[3], 1e-12);
        Near(Math.Pow(10000 * Math.Pow(3, 4.0 / 3), -0.25), grown[1]);
    }

    [Fact]
    public void Yarn_keeps_high_frequencies_interpolates_low_ones_and_ramps_between()
    {
        // dim 8, base 10000, trained length 64, factor 4, beta 32/1:
        // correction dims: 8·ln(64/(32·2π))/(2·ln 10000) = −0.497 → floor −1 → 0 and 8·ln(64/2π)/(2·ln 10000) = 1.008 → ceil 2.
        // ramp over pairs 0..3 = [0, 0.5, 1, 1]; keep-weight = 1 − ramp = [1, 0.5, 0, 0].
        var f = RopeScaling.Compute(Rope("yarn") with { Factor = 4 });
        Near(1.0, f.InverseFrequencies[0]);
        Near(0.5 * 0.1 + 0.5 * 0.1 / 4, f.InverseFrequencies[1]);
        Near(0.01 / 4, f.InverseFrequencies[2]);
        Near(0.001 / 4, f.InverseFrequencies[3]);
        Near(0.1 * Math.Log(4) + 1, f.AttentionFactor);                 // 1.1386…

        // With an explicit original length the factor becomes max_position / original (transformers' DeepSeek-V3 rule).
        var explicitOriginal = RopeScaling.Compute(Rope("yarn", maxPositions: 256) with { Factor = 99, OriginalMaxPositionEmbeddings = 64 });
        Assert.Equal(f.InverseFrequencies, explicitOriginal.InverseFrequencies);
        Near(1.0857263992561355, RopeScaling.Compute(Rope("yarn", maxPositions: 160) with
            { OriginalMaxPositionEmbeddings = 4, Mscale = 1.0, MscaleAllDim = 0.707 }).AttentionFactor);
        Near(1.5, RopeScaling.Compute(Rope("yarn") with { Factor = 4, AttentionFactor = 1.5 }).AttentionFactor);
    }

    [Fact]
    public void Llama3_keeps_short_wavelengths_divides_long_ones_and_blends_the_middle()
    {
        var rope = Rope("llama3", theta: 500000, dim: 128, maxPositions: 131072) with
        {
            Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
        };
        var f = RopeScaling.Compute(rope).InverseFrequencies;
        var plain = RopeScaling.Compute(Rope("default", theta: 500000, dim: 128)).InverseFrequencies;
        Near(1.0, f[0]);
        Near(0.0032114459947525913, f[28], 1e-12);          // wavelength 1956 < 8192/4: kept
        Near(0.002118406996779608, f[29], 1e-12);           // blended
        Near(0.001290547928209264, f[30], 1e-12);           // blended
        Near(9.70828780262767e-05, f[34], 1e-12);           // blended
        Near(2.3890530884911708e-05, f[35], 1e-12);         // wavelength 8219 > 8192: divided by 32
        Near(plain[63] / 32, f[63]);
    }

    [Fact]
    public void Longrope_switches_from_short_to_long_factors_past_the_original_length()
    {
        double[] shortFactor = [1, 2, 3, 4], longFactor = [5, 6, 7, 8];
        var rope = Rope("longrope", maxPositions: 131072) with
        {
            OriginalMaxPositionEmbeddings = 4096, ShortFactor = shortFactor, LongFactor = longFactor,
        };
        var within = RopeScaling.Compute(rope, 4096);
        var beyond = RopeScaling.Compute(rope, 4097);
        Near(1.0 / 1, within.InverseFrequencies[0]);
        Near(0.1 / 2, within.InverseFrequencies[1]);
        Near(0.001 / 4, within.InverseFrequencies[3]);
        Near(1.0 / 5, beyond.InverseFrequencies[0]);
        Near(0.001 / 8, beyond.InverseFrequencies[3]);
        Near(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), within.AttentionFactor); // 1.19023…
        Near(1.1902380714238083, beyond.AttentionFactor);
    }

    [Fact]
    public void Unknown_rope_types_are_rejected_with_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => RopeScaling.Compute(Rope("mrope")));
        Assert.Contains("mrope", error.Message);
        Assert.Contains("llama3", error.Message);
    }

    [Fact]
    public void Partial_rotary_turns_only_the_first_dimensions_and_cos_sin_carry_the_attention_factor()
    {
        Torch.EnsureReady();
        using var scope = NewDisposeScope();
        var rope = Rope("yarn", dim: 4) with { Factor = 4 };
        var positions = tensor(new long[,] { { 0, 3 } });
        var (cos, sin) = Rotary.Tables(rope, positions, ScalarType.Float64);
        Assert.Equal(new long[] { 1, 1, 2, 4 }, cos.shape);
        double factor = 0.1 * Math.Log(4) + 1;
        Near(factor, cos[0, 0, 0, 0].item<double>(), 1e-7);                   // cos 0 · factor
        var inverse = RopeScaling.Compute(rope).InverseFrequencies;
        Near(Math.Sin(3 * (float)inverse[1]) * factor, sin[0, 0, 1, 1].item<double>(), 1e-6);

        var x = arange(12, dtype: ScalarType.Float64).reshape(1, 1, 2, 6);   // head_dim 6, rotary 4
        var turned = Rotary.Apply(x, cos, sin);
        Assert.True(turned.narrow(-1, 4, 2).Equals(x.narrow(-1, 4, 2)), "dimensions past the rotary width pass through");
        Assert.False(turned.narrow(-1, 0, 4).Equals(x.narrow(-1, 0, 4)));
    }
}
