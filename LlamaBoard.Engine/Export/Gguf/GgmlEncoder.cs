using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>
/// Turns tensors into the bytes of a ggml type, a bounded chunk of rows at a time (so a large embedding never
/// exists twice in memory). The block formats follow ggml's reference quantizers (quantize_row_q8_0_ref,
/// quantize_row_q4_0_ref): scales are computed in fp32 and stored as fp16, and values round as C's roundf
/// (half away from zero) where ggml does.
/// </summary>
internal static class GgmlEncoder
{
    /// <summary>Target bytes of one converted chunk.</summary>
    const long ChunkBytes = 16L << 20;

    /// <summary>Writes <paramref name="tensor"/> (any float dtype, any device) as <paramref name="type"/>.</summary>
    public static void Write(Stream stream, Tensor tensor, GgmlType type)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long columns = tensor.dim() == 0 ? 1 : tensor.shape[^1];
        var rows = tensor.detach().reshape(-1, columns);                                       // (R, C)
        long rowBytes = GgmlTypes.ByteCount(type, [columns]);
        long step = Math.Max(1, ChunkBytes / Math.Max(rowBytes, columns * 4));
        for (long start = 0; start < rows.shape[0]; start += step)
        {
            using var chunkScope = NewDisposeScope();
            long n = Math.Min(step, rows.shape[0] - start);
            var chunk = rows.narrow(0, start, n).to(ScalarType.Float32, CPU);                  // (n, C) fp32
            stream.Write(Encode(chunk, type));
        }
    }

    /// <summary>The encoded bytes of <paramref name="rows"/> (n, C) fp32 on the CPU.</summary>
    internal static byte[] Encode(Tensor rows, GgmlType type)
    {
        using var scope = NewDisposeScope();
        return type switch
        {
            GgmlType.F32 => rows.contiguous().bytes.ToArray(),
            GgmlType.F16 => rows.to(ScalarType.Float16).contiguous().bytes.ToArray(),
            GgmlType.BF16 => rows.to(ScalarType.BFloat16).contiguous().bytes.ToArray(),
            GgmlType.Q8_0 => Q8(rows),
            GgmlType.Q4_0 => Q4(rows),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
    }

    // Q8_0: d = max|x| / 127, q = roundf(x / d) in [-127, 127]; block = fp16 d then 32 int8.
    static byte[] Q8(Tensor rows)
    {
        var blocks = rows.reshape(-1, 32);                                                     // (B, 32)
        var d = blocks.abs().amax([1], keepdim: true) / 127f;                                   // (B, 1)
        var inverse = where(d.eq(0), zeros_like(d), d.reciprocal());
        var q = RoundHalfAway(blocks * inverse).to(ScalarType.Int8);                           // (B, 32)
        return Interleave(d, q, 32);
    }

    // Q4_0: m = the value of largest magnitude (with its sign), d = m / -8, q = min(15, (int)(x / d + 8.5));
    // element j goes to the low nibble of byte j, element j + 16 to its high nibble.
    static byte[] Q4(Tensor rows)
    {
        var blocks = rows.reshape(-1, 32);                                                     // (B, 32)
        var index = blocks.abs().argmax(1, keepdim: true);                                     // (B, 1)
        var max = blocks.gather(1, index);                                                     // (B, 1)
        var d = max / -8f;
        var inverse = where(d.eq(0), zeros_like(d), d.reciprocal());
        var q = (blocks * inverse + 8.5f).trunc().clamp(0, 15).to(ScalarType.Int32);          // (B, 32)
        var packed = (q.narrow(1, 0, 16) + q.narrow(1, 16, 16) * 16).to(ScalarType.Byte);       // (B, 16)
        return Interleave(d, packed, 16);
    }

    /// <summary>Blocks of [fp16 scale (2 bytes, little-endian), payload (<paramref name="payloadBytes"/>)].</summary>
    static byte[] Interleave(Tensor scales, Tensor payload, int payloadBytes)
    {
        var scaleBytes = scales.to(ScalarType.Float16).contiguous().bytes;                     // 2 per block
        var payloadSpan = payload.contiguous().bytes;                                          // payloadBytes per block
        int blocks = scaleBytes.Length / 2;
        int blockBytes = 2 + payloadBytes;
        var result = new byte[(long)blocks * blockBytes];
        for (int b = 0; b < blocks; b++)
        {
            scaleBytes.Slice(b * 2, 2).CopyTo(result.AsSpan(b * blockBytes, 2));
            payloadSpan.Slice(b * payloadBytes, payloadBytes).CopyTo(result.AsSpan(b * blockBytes + 2, payloadBytes));
        }
        return result;
    }

    /// <summary>C's roundf: halves round away from zero (torch.round rounds them to even); exact for all floats.</summary>
    static Tensor RoundHalfAway(Tensor x)
    {
        var whole = x.trunc();
        var tie = (x - whole).abs().eq(0.5f);
        return where(tie, whole + x.sign(), x.round());
    }
}
