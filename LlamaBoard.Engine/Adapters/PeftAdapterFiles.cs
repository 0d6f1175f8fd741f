using System.Text.Json;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// Saves and loads LoRA adapters in HF PEFT's folder layout: <c>adapter_config.json</c> plus
/// <c>adapter_model.safetensors</c> whose keys are PEFT's (<c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>,
/// DoRA's <c>….lora_magnitude_vector</c>, fully trained modules_to_save under their own names).
/// </summary>
public static class PeftAdapterFiles
{
    /// <summary>The weights file name inside an adapter folder.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    const string Prefix = "base_model.model.";

    /// <summary>Seed of PiSSA's randomised SVD, fixed so that training and loading compute the same residual.</summary>
    public const long PissaSeed = 20240404;

    /// <summary>True when <paramref name="folder"/> holds a PEFT adapter (rather than a full model).</summary>
    public static bool IsAdapterFolder(string folder) =>
        File.Exists(Path.Combine(folder, PeftAdapterConfig.FileName)) && File.Exists(Path.Combine(folder, WeightsFileName));

    /// <summary>The tensors of the model's adapters under PEFT's names, in fp32.</summary>
    public static List<(string Name, Tensor Tensor)> StateDict(DecoderModel model, IReadOnlyList<string> modulesToSave)
    {
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, layer) in LoraAdapter.Layers(model))
        {
            tensors.Add(($"{Prefix}{name}.lora_A.weight", layer.LoraA.detach()));
            tensors.Add(($"{Prefix}{name}.lora_B.weight", layer.LoraB.detach()));
            if (layer.Magnitude is { } m) tensors.Add(($"{Prefix}{name}.lora_magnitude_vector", m.detach()));
        }
        foreach (var (name, parameter) in ModuleParameters(model, modulesToSave))
            tensors.Add(($"{Prefix}{name}", parameter.detach()));
        return tensors;
    }

    /// <summary>Writes the model's adapters to <paramref name="folder"/> (both files staged, then renamed together).</summary>
    public static void Save(DecoderModel model, string folder, PeftAdapterConfig config)
    {
        Save(folder, config, StateDict(model, config.ModulesToSave));
    }

    /// <summary>Writes adapter tensors (already under PEFT's names) and the config to <paramref name="folder"/>.</summary>
    public static void Save(string folder, PeftAdapterConfig config, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        Directory.CreateDirectory(folder);
        using var files = AtomicFileSet.Create();
        var pending = tensors.Select(t => PendingTensor.Of(t.Name, t.Tensor)).ToList();
        files.Stage(Path.Combine(folder, WeightsFileName),
                    stream => SafetensorsWriter.WriteTo(stream, pending, new Dictionary<string, string> { ["format"] = "pt" }, ScalarType.Float32));
        files.Stage(Path.Combine(folder, PeftAdapterConfig.FileName), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            config.ToJson().WriteTo(writer);
        });
        files.Commit();
    }

    /// <summary>
    /// Loads the adapter in <paramref name="folder"/> into <paramref name="model"/>: wraps its target projections
    /// with LoRA layers (merging any adapter already there first) and fills A, B, DoRA magnitudes and
    /// modules_to_save weights. Returns the adapter's config.
    /// </summary>
    /// <exception cref="InvalidDataException">Missing, unexpected or mis-shaped tensors, named.</exception>
    public static PeftAdapterConfig Load(DecoderModel model, string folder)
    {
        var config = PeftAdapterConfig.Read(folder);
        string weightsPath = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(weightsPath))
            throw new InvalidDataException($"{weightsPath}: not found; LlamaBoard reads PEFT adapters saved as safetensors " +
                                           "(adapter_model.bin is a pickle file and is not read for safety).");
        var projections = AdapterTargets.Resolve(model, config.TargetModules, config.LayersToTransform);
        var layers = LoraAdapter.Attach(model, config.Settings, projections);
        // A PiSSA adapter was trained on the residual of the base weights: recreate that residual (PEFT does the same).
        if (PissaConversion.IterationsOf(config.InitLoraWeights) is { } iterations)
            foreach (var layer in layers) layer.InitializePissa(iterations, PissaSeed);

        using var file = SafetensorsFile.Open(weightsPath);
        var names = file.Header.Tensors.Select(t => t.Name).ToDictionary(Canonical, n => n, StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var misshaped = new List<string>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        void Fill(string key, Tensor destination)
        {
            if (!names.TryGetValue(key, out string? stored) || stored is null) { missing.Add(key); return; }
            used.Add(stored);
            var info = file.Info(stored);
            if (!info.Shape.SequenceEqual(destination.shape))
            {
                misshaped.Add($"{stored}: [{string.Join(", ", info.Shape)}] in the file, [{string.Join(", ", destination.shape)}] expected");
                return;
            }
            destination.copy_(file.Read(stored, destination.dtype, destination.device));
        }

        for (int i = 0; i < projections.Count; i++)
        {
            Fill($"{Prefix}{projections[i]}.lora_A.weight", layers[i].LoraA);
            Fill($"{Prefix}{projections[i]}.lora_B.weight", layers[i].LoraB);
            if (layers[i].Magnitude is { } m) Fill($"{Prefix}{projections[i]}.lora_magnitude_vector", m);
        }
        foreach (var (name, parameter) in ModuleParameters(model, config.ModulesToSave))
            Fill($"{Prefix}{name}", parameter);

        var unexpected = names.Values.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new InvalidDataException(
                $"{weightsPath} does not fit this model ({config.BaseModelNameOrPath ?? "unknown base"} adapter): " +
                Describe("missing", missing) + Describe("unexpected", unexpected) + Describe("mis-shaped", misshaped) +
                "Check that the adapter was trained on this base model.");
        return config;
    }

    static string Describe(string what, List<string> items) =>
        items.Count == 0 ? "" : $"{what} ({items.Count}): {string.Join(", ", items.Take(8))}{(items.Count > 8 ? ", …" : "")}. ";

    /// <summary>PEFT has written the same tensor under a few spellings over the years; map them to today's.</summary>
    internal static string Canonical(string key)
    {
        string k = key.Replace(".default.", ".", StringComparison.Ordinal);
        if (k.EndsWith(".default", StringComparison.Ordinal)) k = k[..^".default".Length];
        if (k.EndsWith(".lora_magnitude_vector.weight", StringComparison.Ordinal)) k = k[..^".weight".Length];
        return k.Replace(".modules_to_save.", ".", StringComparison.Ordinal);
    }

    /// <summary>Parameters of the modules named in modules_to_save (embed_tokens, lm_head, norm, …).</summary>
    static IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> ModuleParameters(DecoderModel model, IReadOnlyList<string> modules)
    {
        if (modules.Count == 0) yield break;
        foreach (var (name, parameter) in model.NamedParameters())
        {
            string owner = name[..name.LastIndexOf('.')];
            if (modules.Any(m => owner == m || owner.EndsWith("." + m, StringComparison.Ordinal)))
                yield return (name, parameter);
        }
    }
}
