using System.Text;
using LlamaBoard.Engine.Export.Gguf;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// A small GGUF reader written from the specification (ggml docs/gguf.md), separate from the writer, for tests
/// that look inside exported files: header, metadata (every value type), tensor infos and raw tensor bytes.
/// </summary>
internal sealed class GgufReader
{
    public uint Version { get; private set; }
    public Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, GgufValueType> MetadataTypes { get; } = new(StringComparer.Ordinal);
    public List<string> KeyOrder { get; } = [];
    public List<(string Name, ulong[] Dims, GgmlType Type, ulong Offset)> Tensors { get; } = [];
    public long DataStart { get; private set; }
    public int Alignment { get; private set; }
    byte[] bytes = [];

    public static GgufReader Read(string path)
    {
        var reader = new GgufReader { bytes = File.ReadAllBytes(path) };
        reader.Parse();
        return reader;
    }

    public static GgufReader Read(byte[] data)
    {
        var reader = new GgufReader { bytes = data };
        reader.Parse();
        return reader;
    }

    int position;

    void Parse()
    {
        if (Encoding.ASCII.GetString(bytes, 0, 4) != "GGUF") throw new InvalidDataException("not a GGUF file");
        position = 4;
        Version = U32();
        ulong tensorCount = U64(), kvCount = U64();
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = Str();
            var type = (GgufValueType)U32();
            KeyOrder.Add(key);
            MetadataTypes[key] = type;
            Metadata[key] = Value(type);
        }
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = Str();
            uint dims = U32();
            var shape = new ulong[dims];
            for (int d = 0; d < dims; d++) shape[d] = U64();
            var type = (GgmlType)U32();
            Tensors.Add((name, shape, type, U64()));
        }
        Alignment = Metadata.TryGetValue("general.alignment", out var a) ? (int)(uint)a : 32;
        DataStart = (position + Alignment - 1) / Alignment * Alignment;
    }

    object Value(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => bytes[position++],
        GgufValueType.Int8 => (sbyte)bytes[position++],
        GgufValueType.UInt16 => Take(2, b => BitConverter.ToUInt16(b)),
        GgufValueType.Int16 => Take(2, b => BitConverter.ToInt16(b)),
        GgufValueType.UInt32 => U32(),
        GgufValueType.Int32 => Take(4, b => BitConverter.ToInt32(b)),
        GgufValueType.Float32 => Take(4, b => BitConverter.ToSingle(b)),
        GgufValueType.Bool => bytes[position++] switch { 0 => false, 1 => true, var v => throw new InvalidDataException($"bool {v}") },
        GgufValueType.String => Str(),
        GgufValueType.UInt64 => U64(),
        GgufValueType.Int64 => Take(8, b => BitConverter.ToInt64(b)),
        GgufValueType.Float64 => Take(8, b => BitConverter.ToDouble(b)),
        GgufValueType.Array => Array(),
        _ => throw new InvalidDataException($"value type {type}"),
    };

    object[] Array()
    {
        var type = (GgufValueType)U32();
        ulong count = U64();
        var items = new object[count];
        for (ulong i = 0; i < count; i++) items[i] = Value(type);
        return items;
    }

    T Take<T>(int n, Func<ReadOnlySpan<byte>, T> read)
    {
        var value = read(bytes.AsSpan(position, n));
        position += n;
        return value;
    }

    uint U32() => Take(4, b => BitConverter.ToUInt32(b));
    ulong U64() => Take(8, b => BitConverter.ToUInt64(b));

    string Str()
    {
        int length = checked((int)U64());
        string s = Encoding.UTF8.GetString(bytes, position, length);
        position += length;
        return s;
    }

    /// <summary>The stored bytes of tensor <paramref name="name"/>.</summary>
    public byte[] TensorBytes(string name)
    {
        var t = Tensors.Single(t => t.Name == name);
        long count = t.Dims.Aggregate(1L, (a, d) => a * (long)d);
        long size = count / GgmlTypes.BlockSize(t.Type) * GgmlTypes.BlockBytes(t.Type);
        return bytes.AsSpan((int)(DataStart + (long)t.Offset), (int)size).ToArray();
    }

    /// <summary>Tensor <paramref name="name"/> as floats (F32 only).</summary>
    public float[] Floats(string name)
    {
        var raw = TensorBytes(name);
        var values = new float[raw.Length / 4];
        Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
        return values;
    }

    public long FileLength => bytes.Length;
}
