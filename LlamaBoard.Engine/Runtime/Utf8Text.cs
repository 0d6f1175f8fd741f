using System.Text;
using System.Text.Unicode;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// UTF-8 validation for files parsed from bytes. System.Text.Json checks a document's structure when it parses
/// bytes but decodes strings only when they are read, so invalid UTF-8 inside a string surfaces much later as an
/// <see cref="InvalidOperationException"/> ("Cannot transcode invalid UTF-8") far from the file that caused it.
/// Readers check the bytes first and report the file and offset instead.
/// </summary>
public static class Utf8Text
{
    /// <summary>The offset of the first byte that is not part of valid UTF-8, or -1 when all of it is valid.</summary>
    public static long FindInvalid(ReadOnlySpan<byte> data)
    {
        if (Utf8.IsValid(data)) return -1;
        long offset = 0;
        while (!data.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(data, out _, out int consumed) != System.Buffers.OperationStatus.Done) return offset;
            data = data[consumed..];
            offset += consumed;
        }
        return -1;
    }

    /// <summary>A sentence for error messages, or null when <paramref name="data"/> is valid UTF-8.</summary>
    public static string? Problem(ReadOnlySpan<byte> data) =>
        FindInvalid(data) is var at and >= 0 ? $"it is not valid UTF-8 text (byte {at})" : null;
}
