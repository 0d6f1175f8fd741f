using System.Collections;
using System.Globalization;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Serialization;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>
/// Streams a Parquet file one row group at a time. Nested columns (lists of structs, as ShareGPT conversations
/// are stored) become JSON lists and objects; missing (null) values are absent keys.
/// </summary>
internal static class ParquetRecordReader
{
    public static IEnumerable<SourceRecord> Read(string path)
    {
        int groups;
        try
        {
            using var probe = File.OpenRead(path);
            var reader = ParquetReader.CreateAsync(probe).GetAwaiter().GetResult();
            groups = reader.RowGroupCount;
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException or DatasetException))
        {
            throw new DatasetException($"not a readable Parquet file ({e.Message.TrimEnd('.')})", file: path, inner: e);
        }

        long index = 0;
        for (int group = 0; group < groups; group++)
        {
            IList<Dictionary<string, object>> rows;
            try
            {
                using var stream = File.OpenRead(path);
                rows = ParquetSerializer.DeserializeUntypedAsync(stream, null, group).GetAwaiter().GetResult().Data;
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException or DatasetException))
            {
                // Parquet.Net reports a damaged page or footer with its own exception types (Thrift protocol errors,
                // InvalidDataException, index errors in decoders): all of them mean the file cannot be read.
                throw new DatasetException($"row group {group + 1} of {groups} cannot be read ({e.Message.TrimEnd('.')})",
                                           file: path, remedy: "the file is damaged: export it again", inner: e);
            }
            foreach (var row in rows)
            {
                var record = new JsonObject();
                foreach (var (key, value) in row)
                    record[key] = ToNode(value);
                yield return new SourceRecord(index++, record, null, null);
            }
        }
    }

    static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        byte[] bytes => JsonValue.Create(Convert.ToBase64String(bytes)),
        DateTime t => JsonValue.Create(t.ToString("O", CultureInfo.InvariantCulture)),
        DateTimeOffset t => JsonValue.Create(t.ToString("O", CultureInfo.InvariantCulture)),
        IDictionary<string, object> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        IDictionary d => new JsonObject(d.Keys.Cast<object>().Select(k =>
            KeyValuePair.Create(Convert.ToString(k, CultureInfo.InvariantCulture) ?? "", ToNode(d[k])))),
        IEnumerable e => new JsonArray([.. e.Cast<object?>().Select(ToNode)]),
        sbyte or byte or short or ushort or int or uint or long or ulong =>
            JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
