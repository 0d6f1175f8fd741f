using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// Writes weights the way Hugging Face <c>save_pretrained</c> does: one <c>model.safetensors</c> when everything
/// fits under the shard limit, otherwise shards filled in order until the next tensor would overflow
/// (<c>model-00001-of-00003.safetensors</c>, …) plus <c>model.safetensors.index.json</c> with
/// <c>metadata.total_size</c> and a sorted <c>weight_map</c>. All files are staged and renamed together, and
/// weight files of an earlier save that the new one does not use are removed.
/// </summary>
public static partial class SafetensorsLayout
{
    /// <summary>The base name of model weights ("model.safetensors").</summary>
    public const string DefaultBaseName = "model";

    /// <summary>The transformers default shard limit, 5 GB (decimal, as transformers counts).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>"model.safetensors" for base name "model".</summary>
    public static string SingleName(string baseName) => $"{baseName}.safetensors";

    /// <summary>"model.safetensors.index.json" for base name "model".</summary>
    public static string IndexName(string baseName) => $"{baseName}.safetensors.index.json";

    /// <summary>"model-00002-of-00005.safetensors".</summary>
    public static string ShardName(string baseName, int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{baseName}-{index:D5}-of-{count:D5}.safetensors");

    /// <summary>
    /// Saves <paramref name="tensors"/> into <paramref name="directory"/> (converted to <paramref name="dtype"/>
    /// when given) and returns the files written, index last when there is one.
    /// </summary>
    public static IReadOnlyList<string> Save(string directory, IReadOnlyList<(string Name, Tensor Tensor)> tensors,
                                             long maxShardBytes = DefaultMaxShardBytes, ScalarType? dtype = null,
                                             string baseName = DefaultBaseName) =>
        Save(directory, tensors.Select(t => PendingTensor.Of(t.Name, t.Tensor)).ToList(), maxShardBytes, dtype, baseName);

    /// <summary>
    /// Saves tensors produced on demand (see <see cref="PendingTensor"/>), plus <paramref name="companions"/>
    /// (file name → text, such as config.json) renamed into place together with the weights, companions last.
    /// </summary>
    public static IReadOnlyList<string> Save(string directory, IReadOnlyList<PendingTensor> tensors,
                                             long maxShardBytes = DefaultMaxShardBytes, ScalarType? dtype = null,
                                             string baseName = DefaultBaseName,
                                             IReadOnlyList<(string FileName, string Text)>? companions = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        System.IO.Directory.CreateDirectory(directory);
        var shards = Plan(tensors, maxShardBytes, dtype);
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        var written = new List<string>();
        using var set = AtomicFileSet.Create();
        if (shards.Count == 1)
        {
            string path = Path.Combine(directory, SingleName(baseName));
            set.Stage(path, s => SafetensorsWriter.WriteTo(s, shards[0], metadata, dtype));
            written.Add(path);
        }
        else
        {
            var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < shards.Count; i++)
            {
                string name = ShardName(baseName, i + 1, shards.Count);
                string path = Path.Combine(directory, name);
                var shard = shards[i];
                set.Stage(path, s => SafetensorsWriter.WriteTo(s, shard, metadata, dtype));
                written.Add(path);
                foreach (var tensor in shard) weightMap[tensor.Name] = name;
            }
            long total = tensors.Sum(t => SafetensorsWriter.StoredBytes(t, dtype));
            string indexPath = Path.Combine(directory, IndexName(baseName));
            string indexJson = IndexJson(total, weightMap);
            set.Stage(indexPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(indexJson)));
            written.Add(indexPath);
        }
        foreach (var (fileName, text) in companions ?? [])
        {
            string path = Path.Combine(directory, fileName);
            set.Stage(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));
            written.Add(path);
        }
        set.Commit();
        RemoveStale(directory, baseName, written);
        return written;
    }

    /// <summary>Splits tensors, in order, into shards of at most <paramref name="maxShardBytes"/> (a larger tensor gets its own shard).</summary>
    internal static List<List<PendingTensor>> Plan(IReadOnlyList<PendingTensor> tensors, long maxShardBytes, ScalarType? dtype)
    {
        var shards = new List<List<PendingTensor>> { new() };
        long current = 0;
        foreach (var item in tensors)
        {
            long bytes = SafetensorsWriter.StoredBytes(item, dtype);
            if (shards[^1].Count > 0 && current + bytes > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(item);
            current += bytes;
        }
        return shards;
    }

    static string IndexJson(long totalSize, SortedDictionary<string, string> weightMap)
    {
        // Same shape as transformers' json.dumps(index, indent=2, sort_keys=True) + "\n".
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2 }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (tensor, file) in weightMap) json.WriteString(tensor, file);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    static void RemoveStale(string directory, string baseName, List<string> written)
    {
        var keep = new HashSet<string>(written.Select(Path.GetFullPath), StringComparer.Ordinal);
        var pattern = new Regex($"^{Regex.Escape(baseName)}(-\\d{{5}}-of-\\d{{5}})?\\.safetensors(\\.index\\.json)?$");
        foreach (string file in System.IO.Directory.EnumerateFiles(directory))
        {
            if (pattern.IsMatch(Path.GetFileName(file)) && !keep.Contains(Path.GetFullPath(file)))
                File.Delete(file);
        }
    }

    /// <summary>Parses a size such as "5GB", "500MB", "2GiB" or a byte count (transformers' units: GB = 10^9, GiB = 2^30).</summary>
    /// <exception cref="FormatException">The text is not a size.</exception>
    public static long ParseSize(string text)
    {
        var match = SizePattern().Match(text.Trim());
        if (!match.Success)
            throw new FormatException($"'{text}' is not a size; write for example 5GB, 500MB, 2GiB or a number of bytes.");
        double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double unit = match.Groups[2].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12,
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            _ => throw new FormatException($"'{text}': unknown unit."),
        };
        return (long)(value * unit);
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();
}
