namespace LlamaBoard.Engine.Data.Readers;

/// <summary>Counts lines and byte columns over UTF-8 data that is read in chunks.</summary>
internal struct TextPosition
{
    /// <summary>1-based line.</summary>
    public int Line;
    /// <summary>1-based byte column.</summary>
    public int Column;

    public static TextPosition Start => new() { Line = 1, Column = 1 };

    /// <summary>Moves past <paramref name="bytes"/>.</summary>
    public void Advance(ReadOnlySpan<byte> bytes)
    {
        int newline = bytes.LastIndexOf((byte)'\n');
        if (newline < 0)
        {
            Column += bytes.Length;
            return;
        }
        Line += System.MemoryExtensions.Count(bytes, (byte)'\n');
        Column = bytes.Length - newline;
    }
}
