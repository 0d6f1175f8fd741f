using System.Text.Json;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// The weights of a Hugging Face model folder: either one <c>model.safetensors</c>, or shards
/// <c>model-00001-of-0000N.safetensors</c> listed by <c>model.safetensors.index.json</c>
/// (<c>{"metadata": {"total_size": bytes}, "weight_map": {tensor: shard file}}</c>). Every header and the index
/// are validated when the checkpoint is opened, before any data is read.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    readonly Dictionary<string, SafetensorsFile> fileOf;
    readonly List<SafetensorsFile> files;

    SafetensorsCheckpoint(string directory, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf)
    {
        Directory = directory;
        this.files = files;
        this.fileOf = fileOf;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Every tensor name, in index (or header) order.</summary>
    public IReadOnlyCollection<string> Names => fileOf.Keys;

    /// <summary>The safetensors files, in shard order.</summary>
    public IReadOnlyList<string> Files => files.Select(f => f.Path).ToList();

    /// <summary>True when <paramref name="name"/> is in the checkpoint.</summary>
    public bool Contains(string name) => fileOf.ContainsKey(name);

    /// <summary>Header entry of <paramref name="name"/>.</summary>
    public SafetensorsTensorInfo Info(string name) => File(name).Info(name);

    /// <summary>The file holding <paramref name="name"/>.</summary>
    public string FileOf(string name) => File(name).Path;

    /// <summary>Copies (part of) a tensor into a destination; see <see cref="SafetensorsFile.CopyTo"/>.</summary>
    public void CopyTo(string name, Tensor destination, long elementOffset = 0) =>
        File(name).CopyTo(name, destination, elementOffset);

    /// <summary>Reads a tensor into a new tensor; see <see cref="SafetensorsFile.Read"/>.</summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null) => File(name).Read(name, dtype, device);

    SafetensorsFile File(string name) =>
        fileOf.TryGetValue(name, out var file) ? file
            : throw new KeyNotFoundException($"Checkpoint '{Directory}' has no tensor '{name}'.");

    /// <summary>True when <paramref name="directory"/> holds safetensors weights named <paramref name="baseName"/>.</summary>
    public static bool Exists(string directory, string baseName = SafetensorsLayout.DefaultBaseName) =>
        System.IO.File.Exists(Path.Combine(directory, SafetensorsLayout.IndexName(baseName)))
        || System.IO.File.Exists(Path.Combine(directory, SafetensorsLayout.SingleName(baseName)));

    /// <summary>Opens the weights in <paramref name="directory"/>, preferring the index when both forms exist.</summary>
    /// <exception cref="FileNotFoundException">No safetensors weights in the folder.</exception>
    /// <exception cref="CheckpointFormatException">The index or a shard is damaged or inconsistent.</exception>
    public static SafetensorsCheckpoint Open(string directory, string baseName = SafetensorsLayout.DefaultBaseName)
    {
        string index = Path.Combine(directory, SafetensorsLayout.IndexName(baseName));
        string single = Path.Combine(directory, SafetensorsLayout.SingleName(baseName));
        if (System.IO.File.Exists(index)) return OpenIndexed(directory, index);
        if (System.IO.File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            var map = file.Header.Tensors.ToDictionary(t => t.Name, _ => file, StringComparer.Ordinal);
            return new SafetensorsCheckpoint(directory, [file], map);
        }
        string hint = System.IO.Directory.Exists(directory)
                      && System.IO.Directory.EnumerateFiles(directory, "*.bin").Any()
            ? " It has PyTorch .bin weights, which are not read (they can run code when unpickled); convert them to " +
              "safetensors first, for example with transformers' save_pretrained(safe_serialization=True)."
            : "";
        throw new FileNotFoundException(
            $"No safetensors weights in '{directory}': expected {SafetensorsLayout.SingleName(baseName)} or " +
            $"{SafetensorsLayout.IndexName(baseName)}.{hint}", single);
    }

    static SafetensorsCheckpoint OpenIndexed(string directory, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var opened = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var files = new List<SafetensorsFile>();
        var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var (tensor, shard) in weightMap)
            {
                if (!opened.TryGetValue(shard, out var file))
                {
                    string shardPath = Path.Combine(directory, shard);
                    if (!System.IO.File.Exists(shardPath))
                        throw CheckpointFormatException.For(indexPath, tensor,
                            $"the index places it in '{shard}', which does not exist.");
                    file = SafetensorsFile.Open(shardPath);
                    opened[shard] = file;
                    files.Add(file);
                }
                if (!file.Header.ByName.ContainsKey(tensor))
                    throw CheckpointFormatException.For(file.Path, tensor,
                        $"the index '{Path.GetFileName(indexPath)}' places it in this shard, but the shard does not hold it.");
                fileOf[tensor] = file;
            }
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new SafetensorsCheckpoint(directory, files, fileOf);
    }

    static List<(string Tensor, string Shard)> ReadWeightMap(string indexPath)
    {
        JsonDocument document;
        byte[] bytes = System.IO.File.ReadAllBytes(indexPath);
        if (Runtime.Utf8Text.Problem(bytes) is { } notUtf8)
            throw CheckpointFormatException.For(indexPath, null, $"the index is not usable: {notUtf8}.");
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw CheckpointFormatException.For(indexPath, null, $"the index is not valid JSON ({e.Message}).", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw CheckpointFormatException.For(indexPath, null, "the index has no \"weight_map\" object.");
            var result = new List<(string, string)>();
            foreach (var entry in map.EnumerateObject())
            {
                string? shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                // Shards are plain file names next to the index; anything else could point outside the folder.
                if (string.IsNullOrEmpty(shard) || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw CheckpointFormatException.For(indexPath, entry.Name,
                        "its weight_map entry is not a plain file name in the same folder.");
                result.Add((entry.Name, shard));
            }
            return result;
        }
    }

    /// <summary>Unmaps every shard.</summary>
    public void Dispose()
    {
        foreach (var file in files) file.Dispose();
    }
}
