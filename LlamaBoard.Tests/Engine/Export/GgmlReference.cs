namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// A plain scalar transcription of ggml's reference block formats (ggml-quants.c: quantize_row_q8_0_ref,
/// quantize_row_q4_0_ref, dequantize_row_q8_0/q4_0) and of fp16/bf16 rounding, written independently of the
/// exporter's tensor code, to check its bytes and to build the "what the file stores" reference model.
/// </summary>
internal static class GgmlReference
{
    /// <summary>Q8_0 bytes of <paramref name="x"/> (length a multiple of 32).</summary>
    public static byte[] QuantizeQ8(float[] x)
    {
        var result = new byte[x.Length / 32 * 34];
        for (int b = 0; b < x.Length / 32; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.Max(amax, Math.Abs(x[b * 32 + j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            BitConverter.TryWriteBytes(result.AsSpan(b * 34, 2), (Half)d);
            for (int j = 0; j < 32; j++)
                result[b * 34 + 2 + j] = (byte)(sbyte)MathF.Round(x[b * 32 + j] * id, MidpointRounding.AwayFromZero);
        }
        return result;
    }

    /// <summary>Q4_0 bytes of <paramref name="x"/> (length a multiple of 32).</summary>
    public static byte[] QuantizeQ4(float[] x)
    {
        var result = new byte[x.Length / 32 * 18];
        for (int b = 0; b < x.Length / 32; b++)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                float v = x[b * 32 + j];
                if (amax < Math.Abs(v))
                {
                    amax = Math.Abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            BitConverter.TryWriteBytes(result.AsSpan(b * 18, 2), (Half)d);
            for (int j = 0; j < 16; j++)
            {
                int x0 = Math.Min(15, (int)(sbyte)(x[b * 32 + j] * id + 8.5f));
                int x1 = Math.Min(15, (int)(sbyte)(x[b * 32 + 16 + j] * id + 8.5f));
                result[b * 18 + 2 + j] = (byte)(x0 | (x1 << 4));
            }
        }
        return result;
    }

    public static float[] DequantizeQ8(byte[] q)
    {
        var x = new float[q.Length / 34 * 32];
        for (int b = 0; b < q.Length / 34; b++)
        {
            float d = (float)BitConverter.ToHalf(q, b * 34);
            for (int j = 0; j < 32; j++) x[b * 32 + j] = d * (sbyte)q[b * 34 + 2 + j];
        }
        return x;
    }

    public static float[] DequantizeQ4(byte[] q)
    {
        var x = new float[q.Length / 18 * 32];
        for (int b = 0; b < q.Length / 18; b++)
        {
            float d = (float)BitConverter.ToHalf(q, b * 18);
            for (int j = 0; j < 16; j++)
            {
                x[b * 32 + j] = ((q[b * 18 + 2 + j] & 0x0F) - 8) * d;
                x[b * 32 + 16 + j] = ((q[b * 18 + 2 + j] >> 4) - 8) * d;
            }
        }
        return x;
    }

    /// <summary>bfloat16 rounding (nearest, ties to even), as ggml_compute_fp32_to_bf16.</summary>
    public static float RoundBf16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        if ((bits & 0x7fffffff) > 0x7f800000) return v; // NaN
        bits = (bits + (0x7fff + ((bits >> 16) & 1))) & 0xffff0000;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>The values a matrix of <paramref name="type"/> stores, as ggml reads them back.</summary>
    public static float[] RoundTrip(float[] x, LlamaBoard.Engine.Export.Gguf.GgmlType type) => type switch
    {
        LlamaBoard.Engine.Export.Gguf.GgmlType.F32 => x,
        LlamaBoard.Engine.Export.Gguf.GgmlType.F16 => x.Select(v => (float)(Half)v).ToArray(),
        LlamaBoard.Engine.Export.Gguf.GgmlType.BF16 => x.Select(RoundBf16).ToArray(),
        LlamaBoard.Engine.Export.Gguf.GgmlType.Q8_0 => DequantizeQ8(QuantizeQ8(x)),
        LlamaBoard.Engine.Export.Gguf.GgmlType.Q4_0 => DequantizeQ4(QuantizeQ4(x)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
