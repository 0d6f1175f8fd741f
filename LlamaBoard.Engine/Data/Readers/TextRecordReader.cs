using System.Text;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>Plain text: each non-blank line is one record <c>{"text": line}</c> (pre-training corpora).</summary>
internal static class TextRecordReader
{
    /// <summary>The column a text file's lines appear in, as in Hugging Face datasets.</summary>
    public const string Column = "text";

    public static IEnumerable<SourceRecord> Read(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true,
                                            new FileStreamOptions { Options = FileOptions.SequentialScan, BufferSize = 1 << 16 });
        long index = 0;
        int lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return new SourceRecord(index++, new JsonObject { [Column] = line }, lineNumber, null);
        }
    }
}
