using System.Diagnostics;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>A model loaded from a Hugging Face folder. Disposing it releases the weights.</summary>
/// <param name="Model">The decoder with its weights.</param>
/// <param name="Generation">generation_config.json, or what transformers derives from config.json without it.</param>
/// <param name="Directory">The folder it came from.</param>
/// <param name="LoadTime">Time spent reading and converting weights.</param>
public sealed record LoadedModel(DecoderModel Model, GenerationConfig Generation, string Directory, TimeSpan LoadTime) : IDisposable
{
    /// <summary>The architecture.</summary>
    public ModelConfig Config => Model.Config;

    /// <summary>Releases the weights.</summary>
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// The weights do not fit the model the config describes. Every problem is listed by name, and nothing was
/// copied: the checks run before any data is read.
/// </summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
                              IReadOnlyList<string> misshaped) : base(message)
    {
        Missing = missing;
        Unexpected = unexpected;
        Misshaped = misshaped;
    }

    /// <summary>Checkpoint tensors the model needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }
    /// <summary>Checkpoint tensors the model has no place for.</summary>
    public IReadOnlyList<string> Unexpected { get; }
    /// <summary>Checkpoint tensors whose shape or dtype does not fit, with the details.</summary>
    public IReadOnlyList<string> Misshaped { get; }
}

/// <summary>
/// Fills a freshly created model's parameters from a checkpoint; <see cref="HfModelLoader.LoadWeights"/> is the plain
/// copy, quantized loading replaces projections while it reads them.
/// </summary>
public delegate void WeightLoading(DecoderModel model, SafetensorsCheckpoint checkpoint, IWeightMapper mapper);

/// <summary>
/// Loads a Hugging Face model folder (config.json, generation_config.json, model.safetensors or shards + index)
/// into a <see cref="DecoderModel"/>: config through the family preset, names through the family mapper, every
/// key and shape checked before anything is copied, and weights converted tensor by tensor from the memory-mapped
/// files straight into the parameters, so peak memory stays near the size of the weights.
/// </summary>
public static class HfModelLoader
{
    /// <summary>config.json.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>Reads the architecture of the model in <paramref name="directory"/>.</summary>
    /// <exception cref="ModelConfigException">config.json is missing, malformed or unsupported.</exception>
    public static ModelConfig ReadConfig(string directory) => HfConfigReader.Read(Path.Combine(directory, ConfigFileName));

    /// <summary>
    /// Loads the model in <paramref name="directory"/> in <paramref name="dtype"/> (default: the config's
    /// torch_dtype, else fp32) on <paramref name="device"/> (default: <see cref="ComputeDevices.Resolve"/>("auto")).
    /// </summary>
    /// <exception cref="ModelConfigException">config.json or generation_config.json is unusable.</exception>
    /// <exception cref="ModelLoadException">The weights do not match the config (missing, unexpected, mis-shaped keys).</exception>
    /// <exception cref="CheckpointFormatException">A safetensors file or the index is damaged.</exception>
    /// <exception cref="FileNotFoundException">The folder has no safetensors weights.</exception>
    /// <param name="directory">The model folder.</param>
    /// <param name="dtype">Parameter dtype; default: the config's torch_dtype, else fp32.</param>
    /// <param name="device">Target device; default: auto.</param>
    /// <param name="loading">How the weights are filled in; default <see cref="LoadWeights"/>.</param>
    public static LoadedModel Load(string directory, ScalarType? dtype = null, Device? device = null, WeightLoading? loading = null)
    {
        TorchRuntime.EnsureInitialized();
        string configPath = Path.Combine(directory, ConfigFileName);
        var root = HfJson.ReadObject(configPath);
        var config = HfConfigReader.Parse(root, configPath);
        var loadFamily = ModelFamilies.Get(root["model_type"]!.GetValue<string>()); // the wrapper's mapper for multimodal folders
        var target = device ?? ComputeDevices.Resolve("auto");
        var type = dtype ?? config.DType ?? ScalarType.Float32;
        if (!DTypes.IsSupported(type, target))
            throw new ArgumentException($"{DTypes.HfName(type)} is not supported on {target}; choose one of {DTypes.Allowed} that is.", nameof(dtype));
        string generationPath = Path.Combine(directory, GenerationConfig.FileName);
        var generation = File.Exists(generationPath) ? GenerationConfig.Read(generationPath) : GenerationConfig.FromModelConfig(config);

        var clock = Stopwatch.StartNew();
        using var checkpoint = SafetensorsCheckpoint.Open(directory);
        var model = DecoderModel.Create(config, type, target);
        try
        {
            (loading ?? LoadWeights)(model, checkpoint, loadFamily.Mapper);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new LoadedModel(model, generation, directory, clock.Elapsed);
    }

    /// <summary>
    /// Copies the weights of <paramref name="checkpoint"/> into <paramref name="model"/> through
    /// <paramref name="mapper"/>, after checking that every parameter has a tensor of the right shape and that
    /// no tensor is left over.
    /// </summary>
    /// <exception cref="ModelLoadException">Missing, unexpected or mis-shaped tensors (all listed by name).</exception>
    public static void LoadWeights(DecoderModel model, SafetensorsCheckpoint checkpoint, IWeightMapper mapper)
    {
        var byName = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var source in PlanWeights(model, checkpoint, mapper))
            CopySource(checkpoint, source, byName[source.Parameter]);
    }

    /// <summary>Copies one <see cref="WeightSource"/> (whole tensor or a row slice) into <paramref name="destination"/>.</summary>
    public static void CopySource(SafetensorsCheckpoint checkpoint, WeightSource source, Tensor destination)
    {
        long rowElements = source.CheckpointShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        checkpoint.CopyTo(source.CheckpointTensor, destination, source.RowStart * rowElements);
    }

    /// <summary>
    /// Where every parameter of <paramref name="model"/> comes from, in the order to copy them (file order, so the
    /// memory-mapped files are read front to back), after checking that every parameter has a tensor of the right
    /// shape and that no tensor is left over.
    /// </summary>
    /// <exception cref="ModelLoadException">Missing, unexpected or mis-shaped tensors (all listed by name).</exception>
    public static IReadOnlyList<WeightSource> PlanWeights(DecoderModel model, SafetensorsCheckpoint checkpoint, IWeightMapper mapper)
    {
        var config = model.Config;
        var parameters = model.NamedParameters().ToList();
        var sources = mapper.Sources(config, parameters.Select(p => (p.Name, p.Parameter.shape)).ToList(), checkpoint.Contains);

        var missing = sources.Where(s => !checkpoint.Contains(s.CheckpointTensor))
                             .Select(s => s.CheckpointTensor).Distinct().ToList();
        var used = sources.Select(s => s.CheckpointTensor).ToHashSet(StringComparer.Ordinal);
        var unexpected = checkpoint.Names.Where(n => !used.Contains(n) && !mapper.IsIgnored(config, n)).ToList();
        var misshaped = new List<string>();
        foreach (var source in sources.Where(s => checkpoint.Contains(s.CheckpointTensor)).DistinctBy(s => s.CheckpointTensor))
        {
            var info = checkpoint.Info(source.CheckpointTensor);
            if (!info.Shape.SequenceEqual(source.CheckpointShape))
                misshaped.Add($"{source.CheckpointTensor}: [{string.Join(", ", info.Shape)}] in " +
                              $"{Path.GetFileName(checkpoint.FileOf(source.CheckpointTensor))}, but config.json implies " +
                              $"[{string.Join(", ", source.CheckpointShape)}]");
            else if (info.DType.TorchType is null)
                misshaped.Add($"{source.CheckpointTensor}: dtype {info.DType.Name} cannot be loaded (convert the checkpoint to BF16, F16 or F32)");
        }
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new ModelLoadException(Describe(checkpoint.Directory, config, missing, unexpected, misshaped), missing, unexpected, misshaped);

        return sources.OrderBy(s => checkpoint.FileOf(s.CheckpointTensor), StringComparer.Ordinal)
                      .ThenBy(s => checkpoint.Info(s.CheckpointTensor).Begin).ThenBy(s => s.RowStart).ToList();
    }

    static string Describe(string directory, ModelConfig config, List<string> missing, List<string> unexpected, List<string> misshaped)
    {
        static string List(string label, List<string> names) =>
            names.Count == 0 ? "" : $"\n  {label} ({names.Count}): {string.Join(", ", names.Take(12))}{(names.Count > 12 ? ", …" : "")}";
        return $"The weights in '{directory}' do not fit the {config.ModelType} model its config.json describes " +
               $"({config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}):" +
               List("missing", missing) + List("unexpected", unexpected) + List("mis-shaped", misshaped) +
               "\nCheck that config.json and the safetensors files come from the same model and download.";
    }
}
