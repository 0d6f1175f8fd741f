using System.Buffers.Binary;
using System.Text;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>The value types of GGUF metadata (gguf_metadata_value_type in the GGUF specification).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>
/// One metadata value: a scalar, a string, or an array of scalars or strings (GGUF arrays are homogeneous and
/// cannot nest here: llama.cpp reads no nested arrays).
/// </summary>
public sealed class GgufValue
{
    readonly object value;

    GgufValue(GgufValueType type, object value, GgufValueType? elementType = null)
    {
        Type = type;
        this.value = value;
        ElementType = elementType;
    }

    /// <summary>The value's type.</summary>
    public GgufValueType Type { get; }

    /// <summary>For arrays, the type of the elements.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>The value as a .NET object (uint, int, float, bool, string, ulong, double, or an array of them).</summary>
    public object Value => value;

    public static GgufValue UInt32(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Int32(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Float32(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue String(string v) => new(GgufValueType.String, v);
    public static GgufValue UInt64(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Float64(double v) => new(GgufValueType.Float64, v);
    public static GgufValue Strings(IReadOnlyList<string> v) => new(GgufValueType.Array, v.ToArray(), GgufValueType.String);
    public static GgufValue Int32s(IReadOnlyList<int> v) => new(GgufValueType.Array, v.ToArray(), GgufValueType.Int32);
    public static GgufValue UInt32s(IReadOnlyList<uint> v) => new(GgufValueType.Array, v.ToArray(), GgufValueType.UInt32);
    public static GgufValue Float32s(IReadOnlyList<float> v) => new(GgufValueType.Array, v.ToArray(), GgufValueType.Float32);
    public static GgufValue Bools(IReadOnlyList<bool> v) => new(GgufValueType.Array, v.ToArray(), GgufValueType.Bool);

    /// <summary>Writes the value (without its type tag) in GGUF's little-endian encoding.</summary>
    internal void WriteTo(GgufBinaryWriter w)
    {
        switch (Type)
        {
            case GgufValueType.UInt32: w.U32((uint)value); break;
            case GgufValueType.Int32: w.I32((int)value); break;
            case GgufValueType.Float32: w.F32((float)value); break;
            case GgufValueType.Bool: w.U8((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: w.String((string)value); break;
            case GgufValueType.UInt64: w.U64((ulong)value); break;
            case GgufValueType.Float64: w.F64((double)value); break;
            case GgufValueType.Array:
                w.U32((uint)ElementType!.Value);
                var items = (Array)value;
                w.U64((ulong)items.Length);
                foreach (object item in items)
                {
                    switch (item)
                    {
                        case string s: w.String(s); break;
                        case int i: w.I32(i); break;
                        case uint u: w.U32(u); break;
                        case float f: w.F32(f); break;
                        case bool b: w.U8(b ? (byte)1 : (byte)0); break;
                        default: throw new InvalidOperationException($"Unsupported GGUF array element {item.GetType()}.");
                    }
                }
                break;
            default:
                throw new InvalidOperationException($"Unsupported GGUF value type {Type}.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => value is Array a ? $"[{a.Length} × {ElementType}]" : $"{value}";
}

/// <summary>Metadata key/value pairs in the order they are written (keys are unique).</summary>
public sealed class GgufMetadata
{
    readonly List<KeyValuePair<string, GgufValue>> entries = [];
    readonly Dictionary<string, int> index = new(StringComparer.Ordinal);

    /// <summary>The pairs, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Entries => entries;

    /// <summary>Sets <paramref name="key"/>, replacing an earlier value in place.</summary>
    public GgufMetadata Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (index.TryGetValue(key, out int i)) entries[i] = new(key, value);
        else
        {
            index[key] = entries.Count;
            entries.Add(new(key, value));
        }
        return this;
    }

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Get(string key) => index.TryGetValue(key, out int i) ? entries[i].Value : null;

    /// <summary>True when <paramref name="key"/> is set.</summary>
    public bool Contains(string key) => index.ContainsKey(key);
}

/// <summary>Little-endian primitives of the GGUF format over a stream, counting the bytes written.</summary>
internal sealed class GgufBinaryWriter(Stream stream)
{
    readonly byte[] scratch = new byte[8];

    /// <summary>Bytes written so far.</summary>
    public long Position { get; private set; }

    public void U8(byte v) => Raw(scratch.AsSpan(0, 1), s => s[0] = v);
    public void U32(uint v) => Raw(scratch.AsSpan(0, 4), s => BinaryPrimitives.WriteUInt32LittleEndian(s, v));
    public void I32(int v) => Raw(scratch.AsSpan(0, 4), s => BinaryPrimitives.WriteInt32LittleEndian(s, v));
    public void U64(ulong v) => Raw(scratch.AsSpan(0, 8), s => BinaryPrimitives.WriteUInt64LittleEndian(s, v));
    public void F32(float v) => Raw(scratch.AsSpan(0, 4), s => BinaryPrimitives.WriteSingleLittleEndian(s, v));
    public void F64(double v) => Raw(scratch.AsSpan(0, 8), s => BinaryPrimitives.WriteDoubleLittleEndian(s, v));

    /// <summary>A GGUF string: u64 byte length, then UTF-8 bytes without a terminator.</summary>
    public void String(string v)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(v);
        U64((ulong)bytes.Length);
        Bytes(bytes);
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        Position += bytes.Length;
    }

    /// <summary>Counts <paramref name="count"/> bytes that were written to the stream directly.</summary>
    public void Skip(long count) => Position += count;

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public void PadTo(int alignment)
    {
        long padding = GgufLayout.Align(Position, alignment) - Position;
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        while (padding > 0)
        {
            int n = (int)Math.Min(padding, zeros.Length);
            Bytes(zeros[..n]);
            padding -= n;
        }
    }

    delegate void Fill(Span<byte> span);

    void Raw(Span<byte> span, Fill fill)
    {
        fill(span);
        Bytes(span);
    }
}
