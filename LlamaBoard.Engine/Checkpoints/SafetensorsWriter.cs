using System.Buffers.Binary;
using System.Text.Json;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// A tensor to be written: name, shape and type up front (for the header and the shard plan), values on demand,
/// so that tensors computed for saving (fused weights) exist one at a time rather than all together.
/// </summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="DType">Its type before any conversion.</param>
/// <param name="Materialize">Produces the values when the writer reaches the tensor.</param>
/// <param name="DisposeAfterWrite">True when the produced tensor is a temporary the writer should dispose.</param>
public sealed record PendingTensor(string Name, long[] Shape, ScalarType DType, Func<Tensor> Materialize, bool DisposeAfterWrite)
{
    /// <summary>An existing tensor, written as it is and not disposed.</summary>
    public static PendingTensor Of(string name, Tensor tensor) => new(name, tensor.shape, tensor.dtype, () => tensor, false);

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>Writes safetensors files (one tensor on the CPU at a time, so saving needs little extra memory).</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically, converted to
    /// <paramref name="dtype"/> when given (floating-point tensors only; integer tensors keep their type).
    /// </summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors,
                             IReadOnlyDictionary<string, string>? metadata = null, ScalarType? dtype = null) =>
        AtomicFile.Write(path, stream => WriteTo(stream, tensors.Select(t => PendingTensor.Of(t.Name, t.Tensor)).ToList(), metadata, dtype));

    /// <summary>Bytes a tensor takes in a file when saved as <paramref name="dtype"/> (or its own type).</summary>
    public static long StoredBytes(PendingTensor tensor, ScalarType? dtype = null) =>
        tensor.ElementCount * SafetensorsDType.From(StoredType(tensor.DType, dtype)).ElementSize;

    internal static ScalarType StoredType(ScalarType type, ScalarType? dtype) =>
        dtype is { } wanted && type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64
            ? wanted : type;

    /// <summary>Writes the file format to <paramref name="stream"/>.</summary>
    public static void WriteTo(Stream stream, IReadOnlyList<PendingTensor> tensors,
                               IReadOnlyDictionary<string, string>? metadata = null, ScalarType? dtype = null)
    {
        TorchRuntime.EnsureInitialized();
        var duplicate = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice.", nameof(tensors));
        if (tensors.Any(t => t.Name == "__metadata__"))
            throw new ArgumentException("'__metadata__' is reserved by the format and cannot name a tensor.", nameof(tensors));

        // Larger elements first, then by name: with the header padded to 8 bytes, every tensor then starts at a
        // multiple of its element size, which lets readers map it without copying.
        var ordered = tensors
            .Select(t => (t.Name, Tensor: t, Type: SafetensorsDType.From(StoredType(t.DType, dtype))))
            .OrderByDescending(t => t.Type.ElementSize).ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();

        byte[] header = BuildHeader(ordered, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (name, pending, type) in ordered)
        {
            var tensor = pending.Materialize();
            try
            {
                if (!tensor.shape.SequenceEqual(pending.Shape))
                    throw new InvalidOperationException($"Tensor '{name}' was announced as [{string.Join(", ", pending.Shape)}] but is [{string.Join(", ", tensor.shape)}].");
                WriteData(stream, tensor, type.TorchType!.Value);
            }
            finally
            {
                if (pending.DisposeAfterWrite) tensor.Dispose();
            }
        }
    }

    static byte[] BuildHeader(List<(string Name, PendingTensor Tensor, SafetensorsDType Type)> ordered,
                              IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, type) in ordered)
            {
                long bytes = tensor.ElementCount * type.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", type.Name);
                json.WriteStartArray("shape");
                foreach (long dim in tensor.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces (valid trailing JSON whitespace) so the data section starts at a multiple of 8.
        int length = (int)buffer.Length;
        int padded = (length + 8 + 7) / 8 * 8 - 8;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    static void WriteData(Stream stream, Tensor tensor, ScalarType type)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var flat = tensor.detach().reshape(-1);
        int size = SafetensorsDType.From(type).ElementSize;
        long step = Math.Max(1, SafetensorsFile.ChunkBytes / size);
        long count = flat.numel();
        for (long done = 0; done < count; done += step)
        {
            long n = Math.Min(step, count - done);
            // One chunk at a time on the CPU in the stored type: bounded memory even for GPU tensors.
            var chunk = flat.narrow(0, done, n).to(type, CPU).contiguous();
            stream.Write(chunk.bytes);
            chunk.Dispose();
        }
    }
}
