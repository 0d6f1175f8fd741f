using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlamaBoard.Engine.Data.Processors;

namespace LlamaBoard.Engine.Data;

/// <summary>
/// Tokenized datasets on disk, so a second run with the same inputs skips reading and tokenizing. The file name
/// is a SHA-256 key over everything that changes the result: the content hashes of the data files, the
/// tokenizer's fingerprint, the template (its full definition), the stage and the data options. Files are
/// written to a temporary name and renamed, so an interrupted run never leaves a half-written cache.
/// <code>
///   "LBTOK001" | int32 header length | header JSON (key, report) | train split | eval split
///   split  = int32 count, then per sample: byte flags, sequences (main, rejected?, kl?)
///   sequence = int32 length, int32 label length, byte has-segments/has-positions, int32 arrays
/// </code>
/// </summary>
public static class TokenizedCache
{
    const string Magic = "LBTOK001";

    /// <summary>The default cache folder: $XDG_CACHE_HOME/llamaboard/tokenized or ~/.cache/llamaboard/tokenized.</summary>
    public static string DefaultDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg) ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "llamaboard", "tokenized");
        }
    }

    /// <summary>SHA-256 of a file's content, hex.</summary>
    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>SHA-256 of <paramref name="text"/>, hex.</summary>
    public static string HashText(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A fingerprint of a tokenizer folder: the hash of its tokenizer files.</summary>
    public static string TokenizerFingerprint(string folder)
    {
        var parts = new StringBuilder();
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model" })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) parts.Append(name).Append('=').Append(HashFile(path)).Append(';');
        }
        if (parts.Length == 0)
            throw new ArgumentException($"no tokenizer files (tokenizer.json, tokenizer_config.json) in {folder}", nameof(folder));
        return HashText(parts.ToString());
    }

    /// <summary>The file of a tokenized copy inside a tokenized_path folder.</summary>
    public const string TokenizedPathFile = "tokenized.lbtok";

    /// <summary>The cache file for <paramref name="key"/> inside <paramref name="directory"/>.</summary>
    public static string PathFor(string directory, string key) => Path.Combine(directory, key + ".lbtok");

    /// <summary>Writes both splits and the report atomically.</summary>
    public static void Write(string path, string key, TokenizedDataset train, TokenizedDataset eval, DataLoadReport report)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8))
            {
                writer.Write(Encoding.ASCII.GetBytes(Magic));
                byte[] header = JsonSerializer.SerializeToUtf8Bytes(new CacheHeader(key, train.Stage, ReportDto.From(report)));
                writer.Write(header.Length);
                writer.Write(header);
                WriteSplit(writer, train);
                WriteSplit(writer, eval);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// Reads a cache file; null when it is missing, of another key, or unreadable (it is then rebuilt). A null
    /// <paramref name="key"/> accepts any key (tokenized_path).
    /// </summary>
    public static (TokenizedDataset Train, TokenizedDataset Eval, DataLoadReport Report)? TryRead(string path, string? key)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic) return null;
            var header = JsonSerializer.Deserialize<CacheHeader>(reader.ReadBytes(reader.ReadInt32()));
            if (header is null || (key is not null && header.Key != key)) return null;
            var train = ReadSplit(reader, header.Stage);
            var eval = ReadSplit(reader, header.Stage);
            return (train, eval, header.Report.ToReport());
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or JsonException or InvalidDataException
                                      or OverflowException or ArgumentException)
        {
            return null;
        }
    }

    static void WriteSplit(BinaryWriter writer, TokenizedDataset split)
    {
        writer.Write(split.Count);
        foreach (var sample in split)
        {
            byte flags = (byte)((sample.Rejected is null ? 0 : 1) | (sample.Kl is null ? 0 : 2) |
                                (sample.KtoTag is null ? 0 : sample.KtoTag.Value ? 8 : 4));
            writer.Write(flags);
            WriteSequence(writer, sample.Main);
            if (sample.Rejected is not null) WriteSequence(writer, sample.Rejected);
            if (sample.Kl is not null) WriteSequence(writer, sample.Kl);
        }
    }

    static TokenizedDataset ReadSplit(BinaryReader reader, DataStage stage)
    {
        int count = reader.ReadInt32();
        if (count < 0) throw new InvalidDataException("negative sample count");
        var samples = new TokenizedSample[count];
        for (int i = 0; i < count; i++)
        {
            byte flags = reader.ReadByte();
            var main = ReadSequence(reader);
            var rejected = (flags & 1) != 0 ? ReadSequence(reader) : null;
            var kl = (flags & 2) != 0 ? ReadSequence(reader) : null;
            bool? tag = (flags & 8) != 0 ? true : (flags & 4) != 0 ? false : null;
            samples[i] = new TokenizedSample(main, rejected, kl, tag);
        }
        return new TokenizedDataset(stage, samples);
    }

    static void WriteSequence(BinaryWriter writer, TokenSequence s)
    {
        writer.Write(s.InputIds.Length);
        writer.Write(s.Labels.Length);
        writer.Write((byte)((s.SegmentIds is null ? 0 : 1) | (s.PositionIds is null ? 0 : 2)));
        WriteInts(writer, s.InputIds);
        WriteInts(writer, s.Labels);
        if (s.SegmentIds is not null) WriteInts(writer, s.SegmentIds);
        if (s.PositionIds is not null) WriteInts(writer, s.PositionIds);
    }

    static TokenSequence ReadSequence(BinaryReader reader)
    {
        int length = reader.ReadInt32(), labelLength = reader.ReadInt32();
        byte flags = reader.ReadByte();
        var input = ReadInts(reader, length);
        var labels = ReadInts(reader, labelLength);
        var segments = (flags & 1) != 0 ? ReadInts(reader, length) : null;
        var positions = (flags & 2) != 0 ? ReadInts(reader, length) : null;
        return new TokenSequence(input, labels, segments, positions);
    }

    static void WriteInts(BinaryWriter writer, int[] values) => writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    static int[] ReadInts(BinaryReader reader, int count)
    {
        if (count < 0) throw new InvalidDataException("negative length");
        var values = new int[count];
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (reader.Read(bytes) != bytes.Length) throw new EndOfStreamException();
        return values;
    }

    sealed record CacheHeader(string Key, DataStage Stage, ReportDto Report);

    sealed record ErrorDto(string Problem, string? Dataset, string? File, long? RecordIndex, int? Line, int? Column, string? Field, string? Remedy)
    {
        public static ErrorDto From(DatasetException e) => new(e.Problem, e.Dataset, e.File, e.RecordIndex, e.Line, e.Column, e.Field, e.Remedy);
        public DatasetException ToException() => new(Problem, Dataset, File, RecordIndex, Line, Column, Field, Remedy);
    }

    sealed record SummaryDto(string Name, List<string> Files, long Records, long Examples, long Skipped, List<ErrorDto> Samples, long Kept);

    sealed record ReportDto(List<SummaryDto> Datasets, long PreprocessingSkipped, List<ErrorDto> PreprocessingSamples)
    {
        public static ReportDto From(DataLoadReport r) => new(
            [.. r.Datasets.Select(d => new SummaryDto(d.Name, [.. d.Files], d.Records, d.Examples, d.Skipped,
                                                     [.. d.SkippedSamples.Select(ErrorDto.From)], d.Kept))],
            r.PreprocessingSkipped, [.. r.PreprocessingSamples.Select(ErrorDto.From)]);

        public DataLoadReport ToReport() => new([.. Datasets.Select(d => new DatasetLoadSummary
        {
            Name = d.Name, Files = d.Files, Records = d.Records, Examples = d.Examples, Skipped = d.Skipped,
            SkippedSamples = [.. d.Samples.Select(s => s.ToException())], Kept = d.Kept,
        })])
        {
            PreprocessingSkipped = PreprocessingSkipped,
            PreprocessingSamples = [.. PreprocessingSamples.Select(s => s.ToException())],
        };
    }
}
