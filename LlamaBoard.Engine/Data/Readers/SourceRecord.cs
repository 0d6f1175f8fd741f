using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Readers;

/// <summary>
/// One record as a reader found it: its fields as JSON (CSV cells are strings, Parquet values keep their type),
/// or the error that kept it from being read. Readers report a malformed record instead of throwing, so the
/// loader can fail or skip it as the user chose; a malformed file (one that cannot be read past) throws.
/// </summary>
/// <param name="Index">0-based position of the record in its file.</param>
/// <param name="Fields">The record, when it could be read.</param>
/// <param name="Line">1-based line where the record starts (text formats).</param>
/// <param name="Error">Why the record could not be read.</param>
public sealed record SourceRecord(long Index, JsonObject? Fields, int? Line, DatasetException? Error);

/// <summary>The file formats LLaMA-Factory reads locally.</summary>
public enum DataFileFormat
{
    /// <summary>A JSON array of records (or JSON Lines under a .json name, as Hugging Face datasets allows).</summary>
    Json,
    /// <summary>One JSON object per line.</summary>
    JsonLines,
    /// <summary>Comma-separated values with a header row.</summary>
    Csv,
    /// <summary>Apache Parquet.</summary>
    Parquet,
    /// <summary>Plain text, one record per non-empty line, in a column named "text".</summary>
    Text,
}

/// <summary>Opens data files by extension.</summary>
public static class DataFileReaders
{
    /// <summary>Extensions that are read, for messages.</summary>
    public const string Supported = ".json, .jsonl, .csv, .parquet, .txt";

    /// <summary>The format of <paramref name="path"/> by its extension, or null when it is not a data file.</summary>
    public static DataFileFormat? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".json" => DataFileFormat.Json,
        ".jsonl" => DataFileFormat.JsonLines,
        ".csv" => DataFileFormat.Csv,
        ".parquet" => DataFileFormat.Parquet,
        ".txt" => DataFileFormat.Text,
        _ => null,
    };

    /// <summary>Streams the records of one file.</summary>
    /// <exception cref="DatasetException">The extension is not supported (raised on enumeration).</exception>
    public static IEnumerable<SourceRecord> Read(string path) => FormatOf(path) switch
    {
        DataFileFormat.Json => JsonRecordReader.Read(path),
        DataFileFormat.JsonLines => JsonLinesRecordReader.Read(path),
        DataFileFormat.Csv => CsvRecordReader.Read(path),
        DataFileFormat.Parquet => ParquetRecordReader.Read(path),
        DataFileFormat.Text => TextRecordReader.Read(path),
        _ => throw new DatasetException($"unsupported file type '{Path.GetExtension(path)}'", file: path,
                                        remedy: Path.GetExtension(path).Equals(".arrow", StringComparison.OrdinalIgnoreCase)
                                            ? "convert Arrow files to Parquet (pyarrow.parquet.write_table)"
                                            : "use one of " + Supported),
    };
}
