using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>Streams JSON Lines: one object per line; blank lines are skipped and not counted as records.</summary>
internal static class JsonLinesRecordReader
{
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
            yield return Parse(path, line, index++, lineNumber);
        }
    }

    static SourceRecord Parse(string path, string line, long index, int lineNumber)
    {
        try
        {
            // A repeated key is refused here: JsonNode would otherwise throw an ArgumentException on first access.
            var node = JsonNode.Parse(line, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (node is JsonObject record) return new SourceRecord(index, record, lineNumber, null);
            string found = node is null ? "null" : DatasetRegistry.Describe(node.GetValueKind());
            return new SourceRecord(index, null, lineNumber,
                new DatasetException($"expected a record (a JSON object), found {found}", file: path,
                                     recordIndex: index, line: lineNumber, column: 1));
        }
        catch (JsonException e)
        {
            return new SourceRecord(index, null, lineNumber,
                new DatasetException($"invalid JSON ({DatasetRegistry.FirstSentence(e.Message)})", file: path,
                                     recordIndex: index, line: lineNumber, column: (int)(e.BytePositionInLine ?? 0) + 1,
                                     inner: e));
        }
    }
}
