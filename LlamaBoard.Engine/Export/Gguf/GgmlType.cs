namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>The ggml tensor types this exporter writes (numbers as in ggml.h's <c>ggml_type</c>).</summary>
public enum GgmlType : uint
{
    /// <summary>32-bit IEEE floats.</summary>
    F32 = 0,
    /// <summary>16-bit IEEE floats.</summary>
    F16 = 1,
    /// <summary>Blocks of 32 weights: an fp16 scale d, then 16 bytes of 4-bit values q (x = d·(q − 8)).</summary>
    Q4_0 = 2,
    /// <summary>Blocks of 32 weights: an fp16 scale d, then 32 signed bytes q (x = d·q).</summary>
    Q8_0 = 8,
    /// <summary>bfloat16 (the upper half of an fp32).</summary>
    BF16 = 30,
}

/// <summary>Sizes of the ggml types, and the file type that names a whole file's dominant type.</summary>
public static class GgmlTypes
{
    /// <summary>Weights per block (1 for plain floats).</summary>
    public static int BlockSize(GgmlType type) => type is GgmlType.Q8_0 or GgmlType.Q4_0 ? 32 : 1;

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q8_0 => 2 + 32,
        GgmlType.Q4_0 => 2 + 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Bytes of a tensor of <paramref name="shape"/> (PyTorch order: the last dimension is contiguous).</summary>
    /// <exception cref="ArgumentException">The last dimension is not a multiple of the block size.</exception>
    public static long ByteCount(GgmlType type, IReadOnlyList<long> shape)
    {
        long columns = shape.Count == 0 ? 1 : shape[^1];
        int block = BlockSize(type);
        if (columns % block != 0)
            throw new ArgumentException($"{type} needs rows that are a multiple of {block} values; this tensor's rows have {columns}.");
        long rows = 1;
        for (int i = 0; i < shape.Count - 1; i++) rows *= shape[i];
        return rows * (columns / block) * BlockBytes(type);
    }

    /// <summary>llama.cpp's <c>general.file_type</c> (llama_ftype) for a file whose weights are mostly <paramref name="type"/>.</summary>
    public static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,   // LLAMA_FTYPE_ALL_F32
        GgmlType.F16 => 1,   // LLAMA_FTYPE_MOSTLY_F16
        GgmlType.Q4_0 => 2,  // LLAMA_FTYPE_MOSTLY_Q4_0
        GgmlType.Q8_0 => 7,  // LLAMA_FTYPE_MOSTLY_Q8_0
        GgmlType.BF16 => 32, // LLAMA_FTYPE_MOSTLY_BF16
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>True for the block-quantized types.</summary>
    public static bool IsQuantized(GgmlType type) => BlockSize(type) > 1;
}
