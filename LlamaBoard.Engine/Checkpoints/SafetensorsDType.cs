using static TorchSharp.torch;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// One element type of the safetensors format: its name in the header, its size in bytes, and the TorchSharp
/// type it loads as (null for types the format defines but TorchSharp 0.107 cannot hold, such as FP8).
/// </summary>
public sealed record SafetensorsDType(string Name, int ElementSize, ScalarType? TorchType)
{
    static readonly SafetensorsDType[] All =
    [
        new("F64", 8, ScalarType.Float64),
        new("F32", 4, ScalarType.Float32),
        new("F16", 2, ScalarType.Float16),
        new("BF16", 2, ScalarType.BFloat16),
        new("I64", 8, ScalarType.Int64),
        new("I32", 4, ScalarType.Int32),
        new("I16", 2, ScalarType.Int16),
        new("I8", 1, ScalarType.Int8),
        new("U8", 1, ScalarType.Byte),
        new("BOOL", 1, ScalarType.Bool),
        // Defined by the format, but TorchSharp 0.107 has no matching ScalarType: readable headers, no data.
        new("U16", 2, null),
        new("U32", 4, null),
        new("U64", 8, null),
        new("F8_E4M3", 1, null),
        new("F8_E5M2", 1, null),
    ];

    static readonly Dictionary<string, SafetensorsDType> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>The header names of all known types, for error messages.</summary>
    public static string KnownNames => string.Join(", ", All.Select(d => d.Name));

    /// <summary>Looks up a header dtype name (case-sensitive, as the format specifies); null when unknown.</summary>
    public static SafetensorsDType? TryParse(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The safetensors type for a TorchSharp type.</summary>
    /// <exception cref="ArgumentException">The type has no safetensors spelling (complex or quantized types).</exception>
    public static SafetensorsDType From(ScalarType type) =>
        All.FirstOrDefault(d => d.TorchType == type)
        ?? throw new ArgumentException($"dtype {type} cannot be stored in safetensors (supported: {KnownNames}).", nameof(type));
}
