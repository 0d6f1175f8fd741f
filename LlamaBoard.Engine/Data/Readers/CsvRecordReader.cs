using System.Text;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>
/// Streams RFC 4180 CSV: a header row names the columns; fields may be quoted (with "" for a quote) and quoted
/// fields may span lines. Cells are strings; an empty unquoted cell is null, as pandas reads it.
/// </summary>
internal static class CsvRecordReader
{
    public static IEnumerable<SourceRecord> Read(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true,
                                            new FileStreamOptions { Options = FileOptions.SequentialScan, BufferSize = 1 << 16 });
        var lexer = new Lexer(reader, path);
        var header = lexer.NextRow(out int headerLine);
        if (header is null)
            throw new DatasetException("the file is empty; a CSV dataset needs a header row", file: path);
        var names = header.Select(h => h.Value ?? "").ToArray();
        for (int i = 0; i < names.Length; i++)
        {
            if (names[i].Length == 0)
                throw new DatasetException($"header column {i + 1} has no name", file: path, line: headerLine);
            if (Array.IndexOf(names, names[i]) != i)
                throw new DatasetException($"header names column '{names[i]}' twice", file: path, line: headerLine);
        }

        long index = 0;
        while (lexer.NextRow(out int line) is { } row)
        {
            if (row.Count == 1 && row[0].Value is null) continue; // blank line
            if (row.Count != names.Length)
            {
                yield return new SourceRecord(index, null, line, new DatasetException(
                    $"expected {names.Length} fields (as in the header), found {row.Count}", file: path,
                    recordIndex: index, line: line,
                    remedy: "quote fields that contain commas or line breaks (\"like, this\")"));
                index++;
                continue;
            }
            var record = new JsonObject();
            for (int i = 0; i < names.Length; i++)
                record[names[i]] = row[i].Value is { } v ? JsonValue.Create(v) : null;
            yield return new SourceRecord(index++, record, line, null);
        }
    }

    readonly record struct Cell(string? Value);

    /// <summary>Splits rows and fields; tracks the line a row starts on.</summary>
    sealed class Lexer(StreamReader reader, string path)
    {
        int _line = 1;
        readonly StringBuilder _field = new();

        public List<Cell>? NextRow(out int startLine)
        {
            startLine = _line;
            int c = reader.Read();
            if (c < 0) return null;
            var row = new List<Cell>();
            while (true)
            {
                // One field.
                _field.Clear();
                bool quoted = false;
                if (c == '"')
                {
                    quoted = true;
                    int quoteLine = _line;
                    while (true)
                    {
                        c = reader.Read();
                        if (c < 0)
                            throw new DatasetException("a quoted field is not closed before the end of the file",
                                                       file: path, line: quoteLine,
                                                       remedy: "close the quote, and write a quote inside a field as \"\"");
                        if (c == '"')
                        {
                            if (reader.Peek() == '"') { reader.Read(); _field.Append('"'); continue; }
                            c = reader.Read();
                            break;
                        }
                        if (c == '\n') _line++;
                        _field.Append((char)c);
                    }
                    if (c >= 0 && c != ',' && c != '\n' && c != '\r')
                        throw new DatasetException("unexpected text after a closing quote", file: path, line: _line,
                                                   remedy: "write a quote inside a quoted field as \"\"");
                }
                else
                {
                    while (c >= 0 && c != ',' && c != '\n' && c != '\r')
                    {
                        _field.Append((char)c);
                        c = reader.Read();
                    }
                }
                row.Add(new Cell(quoted || _field.Length > 0 ? _field.ToString() : null));
                if (c == ',')
                {
                    c = reader.Read();
                    continue;
                }
                if (c == '\r' && reader.Peek() == '\n') reader.Read();
                if (c >= 0) _line++;
                return row;
            }
        }
    }
}
