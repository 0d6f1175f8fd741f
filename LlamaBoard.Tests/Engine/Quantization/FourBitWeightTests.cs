using System.Text.Json.Nodes;
using LlamaBoard.Engine.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>4-bit NF4/FP4 block quantization: code books, packing, round-trip bounds, double quantization, bitsandbytes' layout.</summary>
public class FourBitWeightTests
{
    public FourBitWeightTests() => Torch.EnsureReady();

    [Fact]
    public void Nf4_is_the_published_code_book()
    {
        // QLoRA, Appendix E / bitsandbytes' get_4bit_type("nf4").
        double[] published =
        [
            -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
            -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
            0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
            0.7229568362236023, 1.0,
        ];
        Assert.Equal(16, QuantizationCodes.Nf4.Count);
        for (int i = 0; i < 16; i++) Assert.Equal((float)published[i], QuantizationCodes.Nf4[i]);
        // FP4 as bitsandbytes' kernels decode it (bit-pattern order).
        float[] fp4 = [0f, 0.0625f / 12, 8f / 12, 1f, 4f / 12, 0.5f, 2f / 12, 0.25f];
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(fp4[i], QuantizationCodes.Fp4[i], 6);
            Assert.Equal(-fp4[i], QuantizationCodes.Fp4[i + 8], 6);
        }
        var dynamic = QuantizationCodes.Dynamic8;
        Assert.Equal(256, dynamic.Count);
        Assert.True(dynamic.Zip(dynamic.Skip(1)).All(p => p.First <= p.Second), "sorted");
        Assert.Equal(1f, dynamic[^1]);
        Assert.Contains(0f, dynamic);
    }

    [Theory]
    [InlineData(FourBitFormat.Nf4)]
    [InlineData(FourBitFormat.Fp4)]
    public void Every_value_decodes_to_the_nearest_code_times_its_block_absmax(FourBitFormat format)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var weight = randn(24, 100) * 0.02;   // 2400 values: 37.5 blocks, so the last block is partial
        using var quantized = FourBitWeight.Quantize(weight, format, doubleQuantization: false);
        var decoded = quantized.Dequantize(ScalarType.Float32).data<float>().ToArray();
        var values = weight.data<float>().ToArray();
        var table = QuantizationCodes.Of(format);
        var sorted = table.Order().ToArray();
        float widestGap = sorted.Zip(sorted.Skip(1)).Max(p => p.Second - p.First);   // NF4: -1 → -0.696
        for (int block = 0; block * 64 < values.Length; block++)
        {
            var part = values.Skip(block * 64).Take(64).ToArray();
            float absmax = part.Max(Math.Abs);
            for (int i = 0; i < part.Length; i++)
            {
                float scaled = part[i] / absmax;
                float nearest = table.MinBy(c => Math.Abs(c - scaled));
                float got = decoded[block * 64 + i];
                Assert.True(Math.Abs(got - nearest * absmax) <= 1e-6f * absmax,
                    $"block {block} value {i}: {part[i]} decoded to {got}, nearest code gives {nearest * absmax}");
                // The round-trip bound: half the widest gap of the code book, times the block's absmax.
                float halfGap = widestGap / 2;
                Assert.True(Math.Abs(got - part[i]) <= halfGap * absmax + 1e-7f);
            }
        }
    }

    [Fact]
    public void Two_codes_per_byte_the_first_in_the_high_nibble()
    {
        using var scope = NewDisposeScope();
        // One block whose values are exactly the 16 NF4 levels (absmax 1), four times over.
        var levels = QuantizationCodes.Nf4.ToArray();
        var weight = tensor(Enumerable.Range(0, 64).Select(i => levels[i % 16]).ToArray()).view(1, 64);
        using var quantized = FourBitWeight.Quantize(weight, FourBitFormat.Nf4, doubleQuantization: false);
        var bytes = quantized.Packed.data<byte>().ToArray();
        Assert.Equal(32, bytes.Length);
        for (int i = 0; i < 32; i++) Assert.Equal((byte)(((2 * i) % 16) << 4 | ((2 * i + 1) % 16)), bytes[i]);
        Assert.Equal(1f, quantized.Absmax!.item<float>());
    }

    [Fact]
    public void Double_quantization_stores_8_bit_scales_with_a_mean_offset_and_costs_about_4_13_bits_per_weight()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var weight = randn(256, 512) * 0.02;     // 2048 blocks = 8 groups of 256 scales
        using var plain = FourBitWeight.Quantize(weight, FourBitFormat.Nf4, doubleQuantization: false);
        using var nested = FourBitWeight.Quantize(weight, FourBitFormat.Nf4, doubleQuantization: true);
        Assert.True(nested.DoubleQuantized);
        Assert.Equal(ScalarType.Byte, nested.NestedCodes!.dtype);
        Assert.Equal(8, nested.NestedAbsmax!.numel());
        Assert.Equal(plain.Absmax!.mean().item<float>(), nested.Offset, 6);

        // The decoded scales are within half a step of the dynamic code (≤ 1% of the group's spread here).
        var exact = plain.Absmax!;
        var decoded = nested.BlockScales();
        float spread = (exact - nested.Offset).abs().max().item<float>();
        Assert.True((decoded - exact).abs().max().item<float>() <= 0.01f * spread);

        // Storage: 4 bits per weight plus 8 bits per 64 weights plus 32 bits per 16384 weights (and two small tables).
        double bitsPerWeight = 8.0 * (nested.StorageBytes - (16 + 256) * 4) / weight.numel();
        Assert.InRange(bitsPerWeight, 4.12, 4.13);
        double plainBits = 8.0 * (plain.StorageBytes - 16 * 4) / weight.numel();
        Assert.Equal(4.5, plainBits, 6);

        // Quantization error, relative RMS, for N(0, σ²) weights (figures for the report).
        double Error(FourBitWeight q) => ((q.Dequantize(ScalarType.Float32) - weight).pow(2).mean().sqrt() / weight.pow(2).mean().sqrt()).item<float>();
        double plainError = Error(plain), nestedError = Error(nested);
        using var fp4 = FourBitWeight.Quantize(weight, FourBitFormat.Fp4, doubleQuantization: true);
        double fp4Error = Error(fp4);
        Console.WriteLine($"relative RMS error: nf4 {plainError:0.0000}, nf4+dq {nestedError:0.0000}, fp4+dq {fp4Error:0.0000}");
        Assert.InRange(plainError, 0.05, 0.12);
        Assert.True(nestedError < plainError * 1.02, $"double quantization adds little error ({nestedError} vs {plainError})");
        Assert.True(fp4Error > plainError, "NF4 fits normal weights better than FP4");
    }

    [Theory]
    [InlineData("nf4")]
    [InlineData("fp4")]
    public void Codes_and_scales_equal_a_pytorch_restatement_of_bitsandbytes(string kind)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        manual_seed(3);
        var weight = randn(96, 320) * 0.05;                       // 480 blocks: 1 full and 1 partial group of scales
        File.WriteAllBytes(dir.File("w.f32"), weight.bytes.ToArray());
        var reference = JsonNode.Parse(PythonReference.RunScript("bnb_quant_reference.py", dir.File("w.f32"), "96", "320", kind))!;
        var format = kind == "nf4" ? FourBitFormat.Nf4 : FourBitFormat.Fp4;
        using var ours = FourBitWeight.Quantize(weight, format, doubleQuantization: true);
        using var plain = FourBitWeight.Quantize(weight, format, doubleQuantization: false);

        Assert.Equal(reference["fp4"]!.AsArray().Select(v => (float)v!), QuantizationCodes.Fp4);
        // The dynamic map agrees to float rounding (torch's linspace has changed its last-bit rounding across versions).
        var dynamic = reference["dynamic"]!.AsArray().Select(v => (float)v!).ToArray();
        for (int i = 0; i < 256; i++) Assert.True(Math.Abs(dynamic[i] - QuantizationCodes.Dynamic8[i]) <= 1e-7f, $"dynamic[{i}]");
        Assert.Equal(reference["packed"]!.AsArray().Select(v => (byte)(int)v!), ours.Packed.data<byte>().ToArray());
        var absmax = reference["absmax"]!.AsArray().Select(v => (float)v!).ToArray();
        Assert.Equal(absmax, plain.Absmax!.data<float>().ToArray());
        Assert.Equal((float)reference["offset"]!, ours.Offset, 6);
        var nestedCodes = reference["nested_codes"]!.AsArray().Select(v => (byte)(int)v!).ToArray();
        var ourCodes = ours.NestedCodes!.data<byte>().ToArray();
        // Only the 480 real scales count (the padding of the last group is ours).
        int same = nestedCodes.Take(480).Zip(ourCodes.Take(480)).Count(p => p.First == p.Second);
        Assert.True(same >= 479, $"{same}/480 nested codes agree (a tie on a midpoint may round differently)");
        var sample = reference["dequantized_sample"]!.AsArray().Select(v => (float)v!).ToArray();
        var decoded = ours.Dequantize(ScalarType.Float32).view(-1).data<float>().Take(sample.Length).ToArray();
        for (int i = 0; i < sample.Length; i++) Assert.True(Math.Abs(sample[i] - decoded[i]) <= 1e-4f, $"value {i}: {decoded[i]} vs {sample[i]}");
    }

    [Fact]
    public void Int8_rows_round_to_within_half_a_step()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var weight = randn(33, 70);
        using var quantized = Int8Weight.Quantize(weight);
        var decoded = quantized.Dequantize(ScalarType.Float32);
        var step = weight.abs().amax([1]) / 127.0;                                           // (33)
        Assert.True(((decoded - weight).abs() <= step.unsqueeze(1) / 2 + 1e-6).all().item<bool>());
        Assert.Equal(33 * 70 + 33 * 4, quantized.StorageBytes);
        // The row maximum is exact (it codes to ±127).
        Assert.True((decoded.abs().amax([1]) - weight.abs().amax([1])).abs().max().item<float>() < 1e-5f);
    }
}
