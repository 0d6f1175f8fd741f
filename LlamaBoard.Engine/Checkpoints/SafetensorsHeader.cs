using System.Buffers.Binary;
using System.Text.Json;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>Where one tensor lives in a safetensors file, as its header says.</summary>
/// <param name="Name">The tensor's key, for example "model.layers.0.self_attn.q_proj.weight".</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Number of bytes of data.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// The validated header of a safetensors file. Layout: 8-byte little-endian header length N, N bytes of UTF-8
/// JSON (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>),
/// then the data section that the offsets index. Every check that can fail on a damaged file happens here,
/// before any data is touched, so a truncated or corrupt file is an error naming file and tensor, never a
/// crash or a read past the end.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The format's own upper bound on the header (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    SafetensorsHeader(string path, long fileLength, long headerLength, IReadOnlyDictionary<string, string> metadata,
                      IReadOnlyList<SafetensorsTensorInfo> tensors)
    {
        Path = path;
        FileLength = fileLength;
        HeaderLength = headerLength;
        Metadata = metadata;
        Tensors = tensors;
        ByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file this header was read from.</summary>
    public string Path { get; }

    /// <summary>Total file length in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The JSON header's length N in bytes (the data section starts at 8 + N).</summary>
    public long HeaderLength { get; }

    /// <summary>Byte position in the file where the data section starts.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>Length of the data section in bytes.</summary>
    public long DataLength => FileLength - DataStart;

    /// <summary>The optional <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> ByName { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is truncated, corrupt or not a safetensors file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsHeader Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return Read(stream, path);
    }

    internal static SafetensorsHeader Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw CheckpointFormatException.For(path, null,
                $"the file has {fileLength} bytes, but a safetensors file starts with an 8-byte header length.");

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > MaxHeaderBytes)
            throw CheckpointFormatException.For(path, null,
                $"the header length field says {declared} bytes, more than the {MaxHeaderBytes} the format allows " +
                "(this is not a safetensors file, or its first bytes are corrupt).");
        long headerLength = (long)declared;
        if (8 + headerLength > fileLength)
            throw CheckpointFormatException.For(path, null,
                $"the header length field says {headerLength} bytes, but only {fileLength - 8} bytes follow it " +
                "(the file is truncated).");

        var json = new byte[headerLength];
        stream.ReadExactly(json);
        if (Runtime.Utf8Text.Problem(json) is { } notUtf8)
            throw CheckpointFormatException.For(path, null, $"the header is not usable: {notUtf8}.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw CheckpointFormatException.For(path, null, $"the header is not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            var (metadata, tensors) = ParseEntries(document.RootElement, path);
            ValidateLayout(tensors, fileLength - 8 - headerLength, path);
            return new SafetensorsHeader(path, fileLength, headerLength, metadata, tensors);
        }
    }

    static (Dictionary<string, string>, List<SafetensorsTensorInfo>) ParseEntries(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw CheckpointFormatException.For(path, null, $"the header is a JSON {root.ValueKind}, not an object.");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensorInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw CheckpointFormatException.For(path, property.Name, "the header lists this key twice.");
            if (property.Name == "__metadata__")
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                    throw CheckpointFormatException.For(path, null, "__metadata__ is not a JSON object of strings.");
                foreach (var item in property.Value.EnumerateObject())
                {
                    if (item.Value.ValueKind != JsonValueKind.String)
                        throw CheckpointFormatException.For(path, null, $"__metadata__ value '{item.Name}' is not a string.");
                    metadata[item.Name] = item.Value.GetString()!;
                }
                continue;
            }
            tensors.Add(ParseTensor(property.Name, property.Value, path));
        }
        return (metadata, tensors);
    }

    static SafetensorsTensorInfo ParseTensor(string name, JsonElement entry, string path)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw CheckpointFormatException.For(path, name, "its header entry is not a JSON object.");
        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw CheckpointFormatException.For(path, name, "its header entry has no \"dtype\" string.");
        string dtypeName = dtypeElement.GetString()!;
        var dtype = SafetensorsDType.TryParse(dtypeName)
            ?? throw CheckpointFormatException.For(path, name,
                $"unknown dtype '{dtypeName}' (known: {SafetensorsDType.KnownNames}).");

        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw CheckpointFormatException.For(path, name, "its header entry has no \"shape\" array.");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size) || size < 0)
                throw CheckpointFormatException.For(path, name, $"shape entry {i} is not a non-negative integer.");
            shape[i++] = size;
        }

        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2)
            throw CheckpointFormatException.For(path, name, "its header entry has no \"data_offsets\" pair [begin, end].");
        long[] pair = new long[2];
        for (int k = 0; k < 2; k++)
        {
            var value = offsets[k];
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out pair[k]) || pair[k] < 0)
                throw CheckpointFormatException.For(path, name, "data_offsets must be two non-negative integers.");
        }
        if (pair[1] < pair[0])
            throw CheckpointFormatException.For(path, name, $"data_offsets [{pair[0]}, {pair[1]}] end before they begin.");

        long expected = ExpectedBytes(shape, dtype.ElementSize)
            ?? throw CheckpointFormatException.For(path, name, $"shape [{string.Join(", ", shape)}] is too large.");
        if (pair[1] - pair[0] != expected)
            throw CheckpointFormatException.For(path, name,
                $"data_offsets [{pair[0]}, {pair[1]}] hold {pair[1] - pair[0]} bytes, but {dtype.Name} " +
                $"[{string.Join(", ", shape)}] needs {expected}.");
        return new SafetensorsTensorInfo(name, dtype, shape, pair[0], pair[1]);
    }

    static long? ExpectedBytes(long[] shape, int elementSize)
    {
        try
        {
            long count = 1;
            foreach (long dim in shape) count = checked(count * dim);
            return checked(count * elementSize);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    static void ValidateLayout(List<SafetensorsTensorInfo> tensors, long dataLength, string path)
    {
        foreach (var tensor in tensors)
        {
            if (tensor.End > dataLength)
                throw CheckpointFormatException.For(path, tensor.Name,
                    $"data_offsets [{tensor.Begin}, {tensor.End}] run past the end of the data section " +
                    $"({dataLength} bytes): the file is truncated.");
        }
        // Overlap check on tensors that own bytes; empty tensors occupy nothing and may share an offset.
        SafetensorsTensorInfo? previous = null;
        foreach (var tensor in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (previous is not null && tensor.Begin < previous.End)
                throw CheckpointFormatException.For(path, tensor.Name,
                    $"its bytes [{tensor.Begin}, {tensor.End}) overlap those of tensor '{previous.Name}' " +
                    $"[{previous.Begin}, {previous.End}).");
            previous = tensor;
        }
    }
}
