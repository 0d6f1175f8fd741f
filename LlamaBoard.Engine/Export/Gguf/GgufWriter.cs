using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>
/// A tensor to be written: its GGUF name, shape in PyTorch order (the last dimension is contiguous; GGUF stores
/// the dimensions reversed), target type, and a function that produces the values when the writer reaches it
/// (so converted copies exist one at a time).
/// </summary>
/// <param name="Name">GGUF tensor name, e.g. "blk.0.attn_q.weight" (at most 63 bytes).</param>
/// <param name="Shape">Shape, PyTorch order.</param>
/// <param name="Type">Stored type.</param>
/// <param name="Produce">Returns the values (any float dtype, any device), shaped <paramref name="Shape"/>.</param>
/// <param name="DisposeAfterWrite">The produced tensor is a temporary the writer disposes after writing.</param>
public sealed record GgufTensor(string Name, long[] Shape, GgmlType Type, Func<Tensor> Produce, bool DisposeAfterWrite = true)
{
    /// <summary>Bytes of the stored data.</summary>
    public long ByteCount => GgmlTypes.ByteCount(Type, Shape);
}

/// <summary>Offsets and sizes of a GGUF file's parts; pure arithmetic shared by the writer and tests.</summary>
public static class GgufLayout
{
    /// <summary>The file magic, "GGUF" as bytes.</summary>
    public static ReadOnlySpan<byte> Magic => "GGUF"u8;

    /// <summary>The format version written.</summary>
    public const uint Version = 3;

    /// <summary>The alignment llama.cpp assumes when general.alignment is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>The longest tensor name ggml accepts (GGML_MAX_NAME − 1).</summary>
    public const int MaxTensorNameBytes = 63;

    /// <summary><paramref name="offset"/> rounded up to a multiple of <paramref name="alignment"/>.</summary>
    public static long Align(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;
}

/// <summary>
/// Writes GGUF version 3 (the format of llama.cpp and Ollama, as described by ggml's docs/gguf.md):
/// <code>
/// "GGUF" | u32 version | u64 tensor count | u64 metadata count
/// metadata:  (string key, u32 value type, value) ...
/// tensors:   (string name, u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml type, u64 data offset) ...
/// padding to general.alignment, then each tensor's data at its offset (offsets are multiples of the alignment)
/// </code>
/// All numbers little-endian; strings are a u64 byte length and UTF-8 bytes.
/// </summary>
public static class GgufWriter
{
    /// <summary>
    /// Writes the file to <paramref name="stream"/>. <c>general.alignment</c> in <paramref name="metadata"/> sets
    /// the alignment (default 32). <paramref name="cancellation"/> is checked between tensors.
    /// </summary>
    /// <exception cref="ArgumentException">Duplicate or over-long tensor names, or a shape the type cannot store.</exception>
    public static void Write(Stream stream, GgufMetadata metadata, IReadOnlyList<GgufTensor> tensors,
                             CancellationToken cancellation = default)
    {
        TorchRuntime.EnsureInitialized();
        int alignment = metadata.Get("general.alignment") is { Value: uint a } ? (int)a : GgufLayout.DefaultAlignment;
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentException($"general.alignment must be a power of two, got {alignment}.", nameof(metadata));
        Check(tensors);

        var w = new GgufBinaryWriter(stream);
        w.Bytes(GgufLayout.Magic);
        w.U32(GgufLayout.Version);
        w.U64((ulong)tensors.Count);
        w.U64((ulong)metadata.Entries.Count);
        foreach (var (key, value) in metadata.Entries)
        {
            w.String(key);
            w.U32((uint)value.Type);
            value.WriteTo(w);
        }

        long offset = 0;
        var offsets = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            w.String(t.Name);
            w.U32((uint)Math.Max(1, t.Shape.Length));
            if (t.Shape.Length == 0) w.U64(1);
            for (int d = t.Shape.Length - 1; d >= 0; d--) w.U64((ulong)t.Shape[d]);
            w.U32((uint)t.Type);
            offsets[i] = offset;
            w.U64((ulong)offset);
            offset = GgufLayout.Align(offset + t.ByteCount, alignment);
        }
        w.PadTo(alignment);
        long dataStart = w.Position;

        for (int i = 0; i < tensors.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var t = tensors[i];
            w.PadTo(alignment);
            if (w.Position - dataStart != offsets[i])
                throw new InvalidOperationException($"GGUF writer: tensor '{t.Name}' would start at {w.Position - dataStart}, not {offsets[i]}.");
            var values = t.Produce();
            try
            {
                if (!values.shape.SequenceEqual(t.Shape))
                    throw new InvalidOperationException(
                        $"Tensor '{t.Name}' was announced as [{string.Join(", ", t.Shape)}] but is [{string.Join(", ", values.shape)}].");
                var counting = new CountingStream(stream);
                GgmlEncoder.Write(counting, values, t.Type);
                if (counting.Written != t.ByteCount)
                    throw new InvalidOperationException($"Tensor '{t.Name}' wrote {counting.Written} bytes, expected {t.ByteCount}.");
                w.Skip(counting.Written);
            }
            finally
            {
                if (t.DisposeAfterWrite) values.Dispose();
            }
        }
        w.PadTo(alignment);
    }

    static void Check(IReadOnlyList<GgufTensor> tensors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!seen.Add(t.Name)) throw new ArgumentException($"Tensor name '{t.Name}' appears twice.", nameof(tensors));
            if (System.Text.Encoding.UTF8.GetByteCount(t.Name) > GgufLayout.MaxTensorNameBytes)
                throw new ArgumentException($"Tensor name '{t.Name}' is longer than ggml's {GgufLayout.MaxTensorNameBytes} bytes.", nameof(tensors));
            if (t.Shape.Length > 4) throw new ArgumentException($"Tensor '{t.Name}' has {t.Shape.Length} dimensions; ggml has at most 4.", nameof(tensors));
            try
            {
                _ = t.ByteCount;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Tensor '{t.Name}' [{string.Join(", ", t.Shape)}]: {e.Message}", nameof(tensors), e);
            }
        }
    }

    /// <summary>Passes writes through and counts them.</summary>
    sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }
    }
}
