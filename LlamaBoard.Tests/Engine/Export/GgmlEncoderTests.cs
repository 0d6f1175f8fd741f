using LlamaBoard.Engine.Export.Gguf;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>The exporter's tensor encodings equal a scalar transcription of ggml's reference quantizers, byte for byte.</summary>
public class GgmlEncoderTests
{
    public GgmlEncoderTests() => Torch.EnsureReady();

    /// <summary>
    /// Rows with ordinary values, a zero block, a block whose largest value is negative, and (optionally) a block so
    /// small that its fp16 scale underflows to zero.
    /// </summary>
    static float[] Values(bool tiny = true)
    {
        using var generator = new TorchSharp.torch.Generator(3);
        var x = randn(4 * 96, generator: generator).data<float>().ToArray();
        for (int j = 0; j < 32; j++) x[32 + j] = 0;                // zero block
        x[64 + 5] = -9f;                                           // negative extreme
        for (int j = 0; j < 32; j++) x[96 + j] *= tiny ? 1e-6f : 1e-2f;
        x[130] = 2.5f;                                             // ties after scaling are possible
        return x;
    }

    static byte[] Encode(float[] x, GgmlType type)
    {
        using var rows = tensor(x).reshape(4, 96);
        using var stream = new MemoryStream();
        GgmlEncoder.Write(stream, rows, type);
        return stream.ToArray();
    }

    [Fact]
    public void Q8_0_blocks_are_ggmls_reference_encoding()
    {
        var x = Values();
        Assert.Equal(GgmlReference.QuantizeQ8(x), Encode(x, GgmlType.Q8_0));
    }

    [Fact]
    public void Q4_0_blocks_are_ggmls_reference_encoding()
    {
        var x = Values();
        Assert.Equal(GgmlReference.QuantizeQ4(x), Encode(x, GgmlType.Q4_0));
    }

    [Fact]
    public void F16_and_BF16_round_to_nearest_even()
    {
        var x = Values();
        var f16 = Encode(x, GgmlType.F16);
        var bf16 = Encode(x, GgmlType.BF16);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal((Half)x[i], BitConverter.ToHalf(f16, 2 * i));
            uint bits = (uint)BitConverter.ToUInt16(bf16, 2 * i) << 16;
            Assert.Equal(GgmlReference.RoundBf16(x[i]), BitConverter.UInt32BitsToSingle(bits));
        }
    }

    [Fact]
    public void Quantized_values_dequantize_close_to_the_input()
    {
        var x = Values(tiny: false);
        var q8 = GgmlReference.DequantizeQ8(Encode(x, GgmlType.Q8_0));
        var q4 = GgmlReference.DequantizeQ4(Encode(x, GgmlType.Q4_0));
        for (int b = 0; b < x.Length / 32; b++)
        {
            float amax = x.Skip(b * 32).Take(32).Max(Math.Abs);
            for (int j = b * 32; j < b * 32 + 32; j++)
            {
                // Half a step, plus the scale's own fp16 rounding (2^-11 relative) times the largest multiple.
                Assert.True(Math.Abs(q8[j] - x[j]) <= amax / 127 * 0.5 + amax * 1e-3, $"Q8_0 value {j}: {q8[j]} vs {x[j]}");
                // Q4_0's levels run from −8d to 7d, so the side opposite the extreme is clipped by up to one step.
                Assert.True(Math.Abs(q4[j] - x[j]) <= amax / 8 + amax * 1e-3, $"Q4_0 value {j}: {q4[j]} vs {x[j]}");
            }
        }
    }

    [Fact]
    public void Tensors_larger_than_one_chunk_are_encoded_whole()
    {
        // 16 MiB chunks: 300,000 rows of 32 floats (38 MB) take three.
        using var big = arange(0, 300_000 * 32, dtype: ScalarType.Float32).reshape(300_000, 32) / 1000f;
        using var stream = new MemoryStream();
        GgmlEncoder.Write(stream, big, GgmlType.F32);
        var bytes = stream.ToArray();
        Assert.Equal(300_000L * 32 * 4, bytes.Length);
        Assert.Equal(299_999 * 32 + 31, BitConverter.ToSingle(bytes, bytes.Length - 4) * 1000f, 1.0);
    }
}
