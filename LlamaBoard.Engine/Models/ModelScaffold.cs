using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>What <see cref="ModelScaffold.Create"/> makes.</summary>
/// <param name="ModelType">A supported text model_type (not a multimodal wrapper).</param>
/// <param name="Shape">Sizes; vocab_size is raised to cover a copied tokenizer.</param>
/// <param name="OutputDirectory">Folder to write (created if needed).</param>
public sealed record ModelScaffoldOptions(string ModelType, ModelShape Shape, string OutputDirectory)
{
    /// <summary>dtype of the saved weights.</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;
    /// <summary>Seed of the random initialisation.</summary>
    public ulong Seed { get; init; }
    /// <summary>Folder whose tokenizer files (tokenizer.json, …) are copied; null = the built-in tiny tokenizer.</summary>
    public string? TokenizerDirectory { get; init; }
    /// <summary>Without <see cref="TokenizerDirectory"/>, write the built-in tiny tokenizer (needs nothing from the internet).</summary>
    public bool IncludeTinyTokenizer { get; init; } = true;
    /// <summary>config.json keys to set after the family defaults (for example sliding_window).</summary>
    public JsonObject? ConfigOverrides { get; init; }
    /// <summary>Largest safetensors shard.</summary>
    public long MaxShardBytes { get; init; } = SafetensorsLayout.DefaultMaxShardBytes;
}

/// <summary>The result of <see cref="ModelScaffold.Create"/>.</summary>
/// <param name="Config">The architecture written.</param>
/// <param name="ParameterCount">Number of parameters.</param>
/// <param name="Files">Files written.</param>
public sealed record ModelScaffoldResult(ModelConfig Config, long ParameterCount, IReadOnlyList<string> Files);

/// <summary>
/// Writes a random-initialised model folder in exactly the layout transformers uses for the family (config keys,
/// tensor names, fused Phi-3 tensors), loadable here and by transformers. Tests, demos and benchmarks use it.
/// </summary>
public static class ModelScaffold
{
    /// <summary>Creates the folder described by <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">Unsupported model type, inconsistent sizes or a tokenizer folder without tokenizer.json.</exception>
    public static ModelScaffoldResult Create(ModelScaffoldOptions options)
    {
        TorchRuntime.EnsureInitialized();
        if (!ModelFamilies.IsSupported(options.ModelType))
            throw new ArgumentException($"model type '{options.ModelType}' is not supported; supported: {string.Join(", ", InitTypes)}.");
        string? temporaryTokenizer = null;
        if (options.TokenizerDirectory is null && options.IncludeTinyTokenizer)
        {
            temporaryTokenizer = Path.Combine(Path.GetTempPath(), $"llamaboard-tiny-tokenizer-{Guid.NewGuid():N}");
            TinyTokenizer.Write(temporaryTokenizer);
            options = options with { TokenizerDirectory = temporaryTokenizer };
        }
        try
        {
            return CreateWith(options);
        }
        finally
        {
            if (temporaryTokenizer is not null) Directory.Delete(temporaryTokenizer, recursive: true);
        }
    }

    static ModelScaffoldResult CreateWith(ModelScaffoldOptions options)
    {
        var overrides = options.ConfigOverrides?.DeepClone().AsObject() ?? [];
        var shape = options.Shape;
        var files = new List<string>();
        if (options.TokenizerDirectory is { } tokenizerDir)
        {
            var vocabulary = TokenizerVocabulary.Read(tokenizerDir);
            shape = shape with { VocabSize = Math.Max(shape.VocabSize, vocabulary.Size) };
            foreach (var (key, id) in vocabulary.SpecialIds) overrides[key] ??= id;
        }
        var config = ModelConfigFactory.NewConfig(options.ModelType, shape, overrides);
        long parameters;
        using (var model = DecoderModel.Create(config, options.DType, CPU))
        {
            ModelInitializer.Initialize(model, options.Seed);
            parameters = model.ParameterCount;
            files.AddRange(HfModelSaver.Save(model, options.OutputDirectory, options.DType, options.MaxShardBytes));
        }
        if (options.TokenizerDirectory is { } from)
            files.AddRange(HfModelSaver.CopyTokenizerFiles(from, options.OutputDirectory)
                                       .Select(name => Path.Combine(options.OutputDirectory, name)));
        return new ModelScaffoldResult(HfModelLoader.ReadConfig(options.OutputDirectory), parameters, files);
    }

    /// <summary>The model types a scaffold can be created for (text models; wrappers are loaded, not created).</summary>
    public static IReadOnlyList<string> InitTypes =>
        ModelFamilies.SupportedTypes.Where(t => ModelFamilies.Get(t).TextConfigKey is null).ToList();

    /// <summary>The id range and special token ids of a tokenizer folder, read from its JSON files.</summary>
    internal sealed record TokenizerVocabulary(int Size, IReadOnlyList<KeyValuePair<string, JsonNode?>> SpecialIds)
    {
        public static TokenizerVocabulary Read(string directory)
        {
            string path = Path.Combine(directory, "tokenizer.json");
            if (!File.Exists(path))
                throw new ArgumentException($"Tokenizer folder '{directory}' has no tokenizer.json.");
            var root = HfJson.ReadObject(path);
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            switch (root["model"]?["vocab"])
            {
                case JsonObject vocab: // BPE, WordPiece: token → id
                    foreach (var (token, id) in vocab) ids[token] = id!.GetValue<int>();
                    break;
                case JsonArray pieces: // Unigram: [token, score] at index = id
                    for (int i = 0; i < pieces.Count; i++) ids[pieces[i]![0]!.GetValue<string>()] = i;
                    break;
            }
            foreach (var added in root["added_tokens"] as JsonArray ?? [])
                ids[added!["content"]!.GetValue<string>()] = added["id"]!.GetValue<int>();
            if (ids.Count == 0) throw new ArgumentException($"'{path}' lists no tokens.");

            var special = new List<KeyValuePair<string, JsonNode?>>();
            string configPath = Path.Combine(directory, "tokenizer_config.json");
            if (File.Exists(configPath))
            {
                var tokenizerConfig = HfJson.ReadObject(configPath);
                foreach (string name in new[] { "bos", "eos", "pad" })
                {
                    var node = tokenizerConfig[$"{name}_token"];
                    string? content = node switch
                    {
                        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                        JsonObject o => o["content"]?.GetValue<string>(),
                        _ => null,
                    };
                    if (content is not null && ids.TryGetValue(content, out int id))
                        special.Add(new($"{name}_token_id", id));
                }
            }
            return new TokenizerVocabulary(ids.Values.Max() + 1, special);
        }
    }
}
