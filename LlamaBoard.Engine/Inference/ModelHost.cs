using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Inference;

/// <summary>An adapter served by a <see cref="ModelHost"/>.</summary>
/// <param name="Name">The name requests use to choose it.</param>
/// <param name="Folder">The PEFT folder it was read from.</param>
/// <param name="Config">Its adapter_config.json.</param>
/// <param name="Bytes">Memory its tensors take (A, B and DoRA scales of every layer).</param>
/// <param name="Index">Its index in <see cref="AdapterSelection"/>.</param>
public sealed record ServedAdapter(string Name, string Folder, PeftAdapterConfig Config, long Bytes, int Index);

/// <summary>
/// One base model in memory with any number of LoRA/DoRA adapters beside it, chosen per request: the base is
/// loaded once, each targeted projection becomes a <see cref="MultiLoraLinear"/> that shares the base weight, and
/// attaching an adapter adds only its A and B matrices. Requests take <see cref="Gate"/> (one generation at a
/// time per model, as LLaMA-Factory's MAX_CONCURRENT=1 default) and choose their adapter with
/// <see cref="Activate"/> while they hold it.
/// </summary>
/// <remarks>
/// Why a switch under a lock rather than per-row adapter ids: a CPU or a single GPU is kept busy by one
/// generation, so batching requests of different adapters would gain little here, while a single active index
/// keeps every layer's forward as cheap as a plain LoRA layer's. Adapters that change whole modules
/// (modules_to_save) or the base weights themselves (an unconverted PiSSA adapter) cannot share a base and are
/// refused with a remedy; <see cref="MergeIntoBase"/> folds such an adapter in for good instead.
/// </remarks>
public sealed class ModelHost : IDisposable
{
    const string Prefix = "base_model.model.";
    readonly AdapterSelection selection = new();
    readonly List<ServedAdapter> adapters = [];

    /// <summary>Serves <paramref name="model"/>, named <paramref name="name"/> in model lists.</summary>
    public ModelHost(LoadedModel model, string name)
    {
        Loaded = model;
        Name = name;
    }

    /// <summary>Loads the HF model in <paramref name="folder"/> (see <see cref="HfModelLoader.Load"/>) and serves it as <paramref name="name"/>.</summary>
    public static ModelHost Load(string folder, string name, ScalarType? dtype = null, Device? device = null) =>
        new(HfModelLoader.Load(folder, dtype, device), name);

    /// <summary>The loaded base model.</summary>
    public LoadedModel Loaded { get; }

    /// <summary>The decoder.</summary>
    public DecoderModel Model => Loaded.Model;

    /// <summary>The base model's name (what a request names to get no adapter).</summary>
    public string Name { get; }

    /// <summary>Adapters in the order attached.</summary>
    public IReadOnlyList<ServedAdapter> Adapters => adapters;

    /// <summary>Held by a request while it generates: one generation at a time on this model.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Bytes of the base model's parameters.</summary>
    public long BaseBytes => Model.ParameterBytes;

    /// <summary>The adapter called <paramref name="name"/>, or null.</summary>
    public ServedAdapter? Find(string name) => adapters.FirstOrDefault(a => a.Name == name);

    /// <summary>
    /// Folds the adapter in <paramref name="folder"/> into the base weights for good (LLaMA-Factory's behaviour for
    /// all but the last of several adapter_name_or_path). Only before any adapter is attached.
    /// </summary>
    public PeftAdapterConfig MergeIntoBase(string folder)
    {
        if (adapters.Count > 0)
            throw new InvalidOperationException("Adapters are merged into the base before any adapter is attached beside it.");
        var config = PeftAdapterFiles.Load(Model, folder);
        LoraAdapter.MergeAll(Model);
        return config;
    }

    /// <summary>
    /// Reads the PEFT adapter in <paramref name="folder"/> and serves it beside the base as <paramref name="name"/>.
    /// Everything is read and checked before the model changes.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken or empty.</exception>
    /// <exception cref="InvalidDataException">The folder is not a LoRA adapter for this model (missing, unexpected or mis-shaped tensors, named).</exception>
    /// <exception cref="NotSupportedException">The adapter changes whole modules or the base weights (remedy in the message).</exception>
    public ServedAdapter Attach(string name, string folder)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        if (name == Name || Find(name) is not null)
            throw new ArgumentException($"The name '{name}' is already used by {(name == Name ? "the base model" : "another adapter")}; give the adapter another name.", nameof(name));
        var config = PeftAdapterConfig.Read(folder);
        if (config.ModulesToSave.Count > 0)
            throw new NotSupportedException(
                $"{folder}: the adapter also trains whole modules ({string.Join(", ", config.ModulesToSave)}), which cannot share one base " +
                "with other adapters; merge it into a model with `llamaboard export` and serve that model instead.");
        if (PissaConversion.IterationsOf(config.InitLoraWeights) is not null)
            throw new NotSupportedException(
                $"{folder}: a PiSSA adapter changes the base weights it was trained on; serve the converted adapter " +
                "(trained with pissa_convert: true) or merge it with `llamaboard export`.");

        var projections = AdapterTargets.Resolve(Model, config.TargetModules, config.LayersToTransform);
        int index = adapters.Count == 0 ? 0 : adapters.Max(a => a.Index) + 1;
        var read = ReadUpdates(folder, config, projections);
        long bytes = 0;
        foreach (var (projection, update) in read)
        {
            var layer = Model.GetProjection(projection) switch
            {
                MultiLoraLinear multi => multi,
                Linear linear => Wrap(projection, linear),
                var other => throw new NotSupportedException($"{projection} is a {other.GetType().Name}; adapters are served on plain linear layers."),
            };
            layer.Add(index, update);
            bytes += update.Bytes;
        }
        var served = new ServedAdapter(name, folder, config, bytes, index);
        adapters.Add(served);
        return served;
    }

    MultiLoraLinear Wrap(string projection, Linear linear)
    {
        var layer = new MultiLoraLinear(linear.weight!, linear.bias, selection);
        Model.ReplaceProjection(projection, layer);
        return layer;
    }

    /// <summary>Reads every layer's A and B (and DoRA scale) of an adapter, checking names and shapes first.</summary>
    List<(string Projection, LoraUpdate Update)> ReadUpdates(string folder, PeftAdapterConfig config, IReadOnlyList<string> projections)
    {
        string path = Path.Combine(folder, PeftAdapterFiles.WeightsFileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found; LlamaBoard reads PEFT adapters saved as safetensors.");
        using var file = SafetensorsFile.Open(path);
        var names = file.Header.Tensors.Select(t => t.Name).ToDictionary(PeftAdapterFiles.Canonical, n => n, StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var misshaped = new List<string>();
        var plan = new List<(string Projection, string A, string B, string? Magnitude, Tensor BaseWeight)>();
        foreach (string projection in projections)
        {
            var baseWeight = BaseWeightOf(projection);
            long outFeatures = baseWeight.shape[0], inFeatures = baseWeight.shape[1];
            string? Find(string key, long[] shape)
            {
                if (!names.TryGetValue(key, out string? stored)) { missing.Add(key); return null; }
                used.Add(stored);
                var info = file.Info(stored);
                if (!info.Shape.SequenceEqual(shape))
                {
                    misshaped.Add($"{stored}: [{string.Join(", ", info.Shape)}] in the file, [{string.Join(", ", shape)}] expected");
                    return null;
                }
                return stored;
            }
            string? a = Find($"{Prefix}{projection}.lora_A.weight", [config.Rank, inFeatures]);
            string? b = Find($"{Prefix}{projection}.lora_B.weight", [outFeatures, config.Rank]);
            string? m = config.UseDora ? Find($"{Prefix}{projection}.lora_magnitude_vector", [outFeatures]) : null;
            if (a is not null && b is not null && (m is not null || !config.UseDora)) plan.Add((projection, a, b, m, baseWeight));
        }
        var unexpected = names.Values.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new InvalidDataException(
                $"{path} does not fit this model ({config.BaseModelNameOrPath ?? "unknown base"} adapter): " +
                Describe("missing", missing) + Describe("unexpected", unexpected) + Describe("mis-shaped", misshaped) +
                "Check that the adapter was trained on this base model.");

        var device = Model.Device;
        var result = new List<(string, LoraUpdate)>(plan.Count);
        using var noGrad = no_grad();
        try
        {
            foreach (var (projection, a, b, m, baseWeight) in plan)
            {
                var scaling = config.Settings.Scaling;
                var aTensor = file.Read(a, ScalarType.Float32, device).DetachFromDisposeScope();   // (r, in)
                var bTensor = file.Read(b, ScalarType.Float32, device).DetachFromDisposeScope();   // (out, r)
                Tensor? doraScale = null;
                if (m is not null)
                {
                    using var scope = NewDisposeScope();
                    var magnitude = file.Read(m, ScalarType.Float32, device);                       // (out)
                    var merged = baseWeight.to_type(ScalarType.Float32) + bTensor.matmul(aTensor) * scaling; // (out, in)
                    doraScale = (magnitude / merged.norm(1, keepdim: false)).MoveToOuterDisposeScope().DetachFromDisposeScope(); // (out)
                }
                result.Add((projection, new LoraUpdate(aTensor, bTensor, scaling, doraScale)));
            }
        }
        catch
        {
            foreach (var (_, update) in result) update.Dispose();
            throw;
        }
        return result;
    }

    Tensor BaseWeightOf(string projection) => Model.GetProjection(projection) switch
    {
        MultiLoraLinear multi => multi.BaseWeight,
        Linear linear => linear.weight!,
        var other => throw new NotSupportedException($"{projection} is a {other.GetType().Name}; adapters are served on plain linear layers."),
    };

    static string Describe(string what, List<string> items) =>
        items.Count == 0 ? "" : $"{what} ({items.Count}): {string.Join(", ", items.Take(8))}{(items.Count > 8 ? ", …" : "")}. ";

    /// <summary>
    /// Makes the adapter called <paramref name="name"/> (null or the base model's name: none) the one every layer
    /// applies, until the returned scope is disposed. Hold <see cref="Gate"/> while using it.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No adapter has that name.</exception>
    public IDisposable Activate(string? name)
    {
        int index = name is null || name == Name ? -1
            : Find(name)?.Index ?? throw new KeyNotFoundException($"No adapter is called '{name}'; served: {string.Join(", ", ModelNames)}.");
        int previous = selection.Active;
        selection.Active = index;
        return new Restore(() => selection.Active = previous);
    }

    /// <summary>The base model's name, then every adapter's.</summary>
    public IReadOnlyList<string> ModelNames => [Name, .. adapters.Select(a => a.Name)];

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>Releases the model and every adapter.</summary>
    public void Dispose()
    {
        Loaded.Dispose();
        Gate.Dispose();
    }
}
