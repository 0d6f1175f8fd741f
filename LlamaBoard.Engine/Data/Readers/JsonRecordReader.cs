using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>
/// Streams a JSON array of records without loading the whole file: the reader keeps a growing window of bytes,
/// cuts complete top-level elements out of it with <see cref="Utf8JsonReader.TrySkip"/>, and parses each one on
/// its own. A .json file whose first character is '{' holds JSON Lines (Hugging Face datasets reads it so).
/// </summary>
internal static class JsonRecordReader
{
    const int InitialWindow = 1 << 16;

    enum Phase { BeforeArray, InArray, AfterArray }

    readonly record struct Found(JsonObject? Record, int Line, int Column, string? Problem);

    public static IEnumerable<SourceRecord> Read(string path)
    {
        if (FirstSignificantByte(path) == (byte)'{')
            return JsonLinesRecordReader.Read(path);
        return ReadArray(path);
    }

    static IEnumerable<SourceRecord> ReadArray(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1,
                                          FileOptions.SequentialScan);
        var window = new byte[InitialWindow];
        int filled = 0;
        bool final = false;
        bool first = true;
        var state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var phase = Phase.BeforeArray;
        var windowStart = TextPosition.Start; // position of window[0] in the file
        long index = 0;
        var found = new List<Found>();

        while (true)
        {
            // Top up the window; grow it when one element is larger than the window.
            if (!final)
            {
                if (filled == window.Length) Array.Resize(ref window, window.Length * 2);
                int read;
                while (filled < window.Length && (read = stream.Read(window, filled, window.Length - filled)) > 0)
                    filled += read;
                final = filled < window.Length;
            }
            int offset = 0;
            if (first)
            {
                first = false;
                if (filled >= 3 && window[0] == 0xEF && window[1] == 0xBB && window[2] == 0xBF) offset = 3;
            }

            found.Clear();
            int consumed = Scan(path, window.AsSpan(offset, filled - offset), final, ref state, ref phase,
                                windowStart, found) + offset;
            foreach (var f in found)
            {
                yield return f.Problem is null
                    ? new SourceRecord(index, f.Record, f.Line, null)
                    : new SourceRecord(index, null, f.Line,
                                       new DatasetException(f.Problem, file: path, recordIndex: index, line: f.Line,
                                                            column: f.Column));
                index++;
            }

            windowStart.Advance(window.AsSpan(0, consumed));
            Buffer.BlockCopy(window, consumed, window, 0, filled - consumed);
            filled -= consumed;
            if (final)
            {
                if (phase != Phase.AfterArray)
                    throw new DatasetException(
                        phase == Phase.BeforeArray ? "the file is empty" : "the JSON array is not closed (the file ends early)",
                        file: path, line: windowStart.Line, column: windowStart.Column,
                        remedy: "a .json dataset is a list of records: [ {...}, {...} ]");
                yield break;
            }
        }
    }

    /// <summary>Cuts complete elements out of <paramref name="data"/>; returns the bytes fully used.</summary>
    static int Scan(string path, ReadOnlySpan<byte> data, bool final, ref JsonReaderState state, ref Phase phase,
                    TextPosition start, List<Found> found)
    {
        var reader = new Utf8JsonReader(data, final, state);
        var cursor = start;
        int counted = 0;
        try
        {
            while (true)
            {
                var checkpoint = reader;
                if (!reader.Read()) break;
                switch (phase)
                {
                    case Phase.BeforeArray:
                        if (reader.TokenType != JsonTokenType.StartArray)
                            throw new DatasetException(
                                $"expected a JSON array of records, found {Describe(reader.TokenType)}", file: path,
                                remedy: "a .json dataset is a list of records ([ {...}, {...} ]) or JSON Lines");
                        phase = Phase.InArray;
                        continue;
                    case Phase.AfterArray:
                        continue;
                }
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    phase = Phase.AfterArray;
                    continue;
                }
                int tokenStart = (int)reader.TokenStartIndex;
                var type = reader.TokenType;
                if (type is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                {
                    reader = checkpoint;
                    break;
                }
                cursor.Advance(data[counted..tokenStart]);
                counted = tokenStart;
                if (type != JsonTokenType.StartObject)
                {
                    found.Add(new Found(null, cursor.Line, cursor.Column,
                                        $"expected a record (a JSON object), found {Describe(type)}"));
                    continue;
                }
                var element = data[tokenStart..(int)reader.BytesConsumed];
                // The reader checks structure only; strings are decoded later, so bad bytes are caught here.
                if (Runtime.Utf8Text.FindInvalid(element) is var invalidAt and >= 0)
                    found.Add(new Found(null, cursor.Line, cursor.Column, $"the record is not valid UTF-8 text (byte {invalidAt} of the record)"));
                else if (ParseRecord(element) is { } record)
                    found.Add(new Found(record, cursor.Line, cursor.Column, null));
                else
                    found.Add(new Found(null, cursor.Line, cursor.Column, "the record repeats a key (each field may appear once)"));
            }
        }
        catch (JsonException e)
        {
            // The reader state carries the line count across windows, so these positions are absolute.
            string problem = final && reader.BytesConsumed >= data.Length - 1 && e.Message.Contains("depth", StringComparison.Ordinal)
                ? "the JSON array is not closed (the file ends early)"
                : $"invalid JSON ({DatasetRegistry.FirstSentence(e.Message)})";
            throw new DatasetException(problem, file: path, line: (int)(e.LineNumber ?? 0) + 1,
                                       column: (int)(e.BytePositionInLine ?? 0) + 1,
                                       remedy: "fix the file; no record after this point can be read", inner: e);
        }
        state = reader.CurrentState;
        return (int)reader.BytesConsumed;
    }

    /// <summary>
    /// Parses one record, refusing a repeated key (null): JsonNode would otherwise throw an ArgumentException when the
    /// record is first read. The reader already checked the syntax, so a JsonException here means a repeated key.
    /// </summary>
    static JsonObject? ParseRecord(ReadOnlySpan<byte> element)
    {
        try
        {
            return JsonNode.Parse(element, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })!.AsObject();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    static int FirstSignificantByte(string path)
    {
        using var stream = File.OpenRead(path);
        int b;
        int position = 0;
        while ((b = stream.ReadByte()) >= 0)
        {
            bool bom = position < 3 && b is 0xEF or 0xBB or 0xBF;
            position++;
            if (bom || b is ' ' or '\t' or '\r' or '\n') continue;
            return b;
        }
        return -1;
    }
}
