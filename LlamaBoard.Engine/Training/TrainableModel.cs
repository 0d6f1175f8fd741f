using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// A model made ready for one finetuning method: loaded in the compute dtype, with adapters attached or layers
/// unfrozen, activation checkpointing and NEFTune hooked in. It knows which parameters train and how to save
/// what was trained (a PEFT adapter for LoRA, an HF model folder for freeze and full).
/// </summary>
public sealed class TrainableModel : IDisposable
{
    TrainableModel(DecoderModel model, GenerationConfig generation, FinetuningType method, PeftAdapterConfig? adapter, string modelFolder)
    {
        Model = model;
        Generation = generation;
        Method = method;
        Adapter = adapter;
        ModelFolder = modelFolder;
    }

    /// <summary>The decoder with adapters attached (for LoRA).</summary>
    public DecoderModel Model { get; }

    /// <summary>The base model's generation_config.json (saved with full and freeze models).</summary>
    public GenerationConfig Generation { get; }

    /// <summary>lora, freeze or full.</summary>
    public FinetuningType Method { get; }

    /// <summary>The adapter being trained (LoRA only).</summary>
    public PeftAdapterConfig? Adapter { get; private set; }

    /// <summary>The base model's folder (config, tokenizer and generation files are copied from it on save).</summary>
    public string ModelFolder { get; }

    /// <summary>PiSSA's initial A and B (PEFT names), kept to convert the trained adapter into a plain LoRA at the end.</summary>
    public IReadOnlyDictionary<string, Tensor>? PissaInitial { get; private set; }

    /// <summary>
    /// The scalar head of reward models and of PPO's policy (null otherwise); it trains in full, and is saved as
    /// <c>value_head.safetensors</c> beside the adapter or model.
    /// </summary>
    public Preference.ValueHead? ValueHead { get; private set; }

    /// <summary>Names of the parameters that train.</summary>
    public IReadOnlyList<string> TrainableNames =>
        AllParameters().Where(p => p.Parameter.requires_grad).Select(p => p.Name).ToList();

    /// <summary>Number of trainable elements and of all elements (quantized weights count by their logical size).</summary>
    public (long Trainable, long Total) ParameterCounts =>
        (AllParameters().Where(p => p.Parameter.requires_grad).Sum(p => p.Parameter.numel()),
         AllParameters().Sum(p => p.Parameter.numel()) + QuantizedModelLoader.QuantizedLayers(Model).Sum(l => l.Layer.InFeatures * l.Layer.OutFeatures));

    /// <summary>The decoder's parameters, then the value head's under their saved names.</summary>
    IEnumerable<(string Name, Parameter Parameter)> AllParameters() =>
        ValueHead is null ? Model.NamedParameters() : Model.NamedParameters().Concat(ValueHead.NamedWeights());

    /// <summary>
    /// Adds a trainable value head: loaded from <paramref name="from"/> when that folder holds one (continuing a
    /// reward model or a PPO run, as LLaMA-Factory does), else freshly initialised.
    /// </summary>
    public Preference.ValueHead AttachValueHead(string? from = null)
    {
        if (ValueHead is not null) throw new InvalidOperationException("the model already has a value head.");
        var head = from is not null && Preference.ValueHead.Exists(from)
            ? Preference.ValueHead.LoadFrom(from, Model.Config.HiddenSize, Model.Device)
            : new Preference.ValueHead(Model.Config.HiddenSize, Model.Device);
        foreach (var (_, parameter) in head.NamedWeights()) parameter.requires_grad = true;
        head.train(Model.training);
        return ValueHead = head;
    }

    /// <summary>Training mode (dropout on) for the decoder and the value head.</summary>
    public void Train()
    {
        Model.train();
        ValueHead?.train();
    }

    /// <summary>Evaluation mode (dropout off) for the decoder and the value head.</summary>
    public void Eval()
    {
        Model.eval();
        ValueHead?.eval();
    }

    /// <summary>How the base weights were quantized while loading (QLoRA), or null.</summary>
    public QuantizationSettings? Quantization { get; private init; }

    /// <summary>
    /// Loads <paramref name="modelFolder"/> for <paramref name="options"/>' finetuning method on
    /// <paramref name="device"/>. Seeds libtorch first, so adapter initialisation is reproducible.
    /// </summary>
    public static TrainableModel Load(LlamaBoardOptions options, string modelFolder, Device device, Action<string>? log = null)
    {
        torch.manual_seed(options.Training.Seed);
        NativeHeap.ReturnLargeBlocks();   // keeps training's large temporaries from fragmenting the heap (see there)
        var quantization = QuantizationSettings.From(options);
        if (quantization is not null && options.Finetuning.FinetuningType != FinetuningType.Lora)
            throw new ArgumentException($"quantization_bit: {quantization.Bits} needs finetuning_type lora (QLoRA); quantized weights cannot be trained.");
        var loaded = quantization is null
            ? HfModelLoader.Load(modelFolder, options.ComputeDType, device)
            : QuantizedModelLoader.Load(modelFolder, quantization, options.ComputeDType, device);
        var model = loaded.Model;
        if (quantization is not null) log?.Invoke(DescribeQuantization(model, quantization, options.ComputeDType));
        foreach (var (_, parameter) in model.NamedParameters()) parameter.requires_grad = false;
        var prepared = new TrainableModel(model, loaded.Generation, options.Finetuning.FinetuningType, null, modelFolder) { Quantization = quantization };
        try
        {
            switch (options.Finetuning.FinetuningType)
            {
                case FinetuningType.Full:
                    foreach (var (_, parameter) in model.NamedParameters()) parameter.requires_grad = true;
                    break;
                case FinetuningType.Freeze:
                    var freeze = options.Finetuning.Freeze;
                    FreezeTuning.Apply(model, freeze.TrainableLayers, freeze.TrainableModules, freeze.ExtraModules ?? []);
                    break;
                case FinetuningType.Lora:
                    prepared.SetUpLora(options, log);
                    break;
                default:
                    throw new NotSupportedException($"finetuning_type {options.Finetuning.FinetuningType} is not supported.");
            }
            prepared.HookTraining(options);
            return prepared;
        }
        catch
        {
            prepared.Dispose();
            throw;
        }
    }

    /// <summary>
    /// LoRA as LLaMA-Factory sets it up: earlier adapters (adapter_name_or_path) are merged into the base, except the
    /// last one, which keeps training unless create_new_adapter asks for a fresh one; otherwise a new adapter wraps
    /// the lora_target projections (PiSSA-initialised when asked), and additional_target modules train in full.
    /// </summary>
    void SetUpLora(LlamaBoardOptions options, Action<string>? log)
    {
        var lora = options.Finetuning.Lora;
        var earlier = options.Model.AdapterNameOrPath ?? [];
        bool resumeLast = earlier.Count > 0 && !lora.CreateNewAdapter;
        for (int i = 0; i < earlier.Count; i++)
        {
            var config = PeftAdapterFiles.Load(Model, earlier[i]);
            if (i == earlier.Count - 1 && resumeLast)
            {
                Adapter = config with { InitLoraWeights = System.Text.Json.Nodes.JsonValue.Create(true) };
                log?.Invoke($"Continuing to train the adapter {earlier[i]} (r={config.Rank}).");
            }
            else
            {
                LoraAdapter.MergeAll(Model);
                log?.Invoke($"Merged the adapter {earlier[i]} into the base weights.");
            }
        }

        if (Adapter is null)
        {
            var projections = AdapterTargets.Resolve(Model, lora.Target);
            var settings = new LoraSettings(lora.Rank, lora.EffectiveAlpha, lora.Dropout, lora.UseRsLora, lora.UseDora);
            var layers = LoraAdapter.Attach(Model, settings, projections);
            System.Text.Json.Nodes.JsonNode init = System.Text.Json.Nodes.JsonValue.Create(true);
            if (lora.PissaInit)
            {
                foreach (var layer in layers) layer.InitializePissa(lora.PissaIter, PeftAdapterFiles.PissaSeed);
                init = PissaConversion.InitValue(lora.PissaIter);
                log?.Invoke($"PiSSA initialisation of {layers.Count} layers ({(lora.PissaIter > 0 ? $"{lora.PissaIter} power iterations" : "exact SVD")}).");
            }
            Adapter = new PeftAdapterConfig
            {
                Rank = lora.Rank,
                Alpha = lora.EffectiveAlpha,
                Dropout = lora.Dropout,
                UseRsLora = lora.UseRsLora,
                UseDora = lora.UseDora,
                TargetModules = AdapterTargets.ShortNames(projections),
                ModulesToSave = lora.AdditionalTarget ?? [],
                BaseModelNameOrPath = options.Model.ModelNameOrPath,
                InitLoraWeights = init,
            };
            if (lora.PissaInit)
                PissaInitial = PeftAdapterFiles.StateDict(Model, []).ToDictionary(t => t.Name, t => t.Tensor.clone().DetachFromDisposeScope());
        }
        foreach (var (_, layer) in LoraAdapter.Layers(Model))
            foreach (var parameter in layer.AdapterParameters()) parameter.requires_grad = true;
        foreach (string module in Adapter.ModulesToSave)
        {
            var owned = Model.NamedParameters().Where(p => OwnedBy(p.Name, module)).ToList();
            if (owned.Count == 0)
                throw new ArgumentException($"additional_target '{module}' is not a module of this model (for example embed_tokens, lm_head, norm).");
            foreach (var (_, parameter) in owned) parameter.requires_grad = true;
        }
    }

    static string DescribeQuantization(DecoderModel model, QuantizationSettings settings, ScalarType dtype)
    {
        var layers = QuantizedModelLoader.QuantizedLayers(model).ToList();
        long stored = layers.Sum(l => l.Layer.Weight.StorageBytes);
        long dense = layers.Sum(l => l.Layer.InFeatures * l.Layer.OutFeatures) * (dtype == ScalarType.Float32 ? 4 : 2);
        return $"Quantized {layers.Count} projections to {settings}: {ProcessMemory.Format(stored)} instead of " +
               $"{ProcessMemory.Format(dense)} in {DTypes.HfName(dtype)}.";
    }

    static bool OwnedBy(string parameterName, string module)
    {
        string owner = parameterName[..parameterName.LastIndexOf('.')];
        return owner == module || owner.EndsWith("." + module, StringComparison.Ordinal);
    }

    /// <summary>Activation checkpointing around every layer, and NEFTune noise on the input embeddings.</summary>
    void HookTraining(LlamaBoardOptions options)
    {
        if (options.UseGradientCheckpointing)
        {
            // Read at every call: BAdam changes which parameters train while the run goes on.
            Model.LayerRunner = (layer, hidden, context) =>
                ActivationCheckpoint.Run(h => layer.call(h, context), hidden,
                                         layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList());
        }
        if (options.Training.NeftuneNoiseAlpha is { } alpha and > 0)
        {
            Model.EmbeddingTransform = embeddings =>
            {
                if (!Model.training) return embeddings;
                // NEFTune: uniform noise of magnitude alpha / sqrt(T·d) (Jain et al., as transformers implements it).
                double magnitude = alpha / Math.Sqrt(embeddings.shape[1] * embeddings.shape[2]);
                return embeddings + empty_like(embeddings).uniform_(-magnitude, magnitude);
            };
        }
    }

    /// <summary>
    /// The optimizer's view of the trainable parameters: no weight decay on biases and norm weights (as HF's
    /// Trainer), and LoRA+'s separate rate for the B matrices.
    /// </summary>
    public IReadOnlyList<TrainableParameter> TrainableParameters(double? loraPlusRatio)
    {
        var result = new List<TrainableParameter>();
        foreach (var (name, parameter) in AllParameters())
        {
            if (!parameter.requires_grad) continue;
            string owner = name.Contains('.', StringComparison.Ordinal) ? name[..name.LastIndexOf('.')] : "";
            bool decay = !name.EndsWith(".bias", StringComparison.Ordinal) && !owner.EndsWith("norm", StringComparison.Ordinal);
            double scale = loraPlusRatio is { } ratio && name.Contains(".lora_B.", StringComparison.Ordinal) ? ratio : 1.0;
            result.Add(new TrainableParameter(name, parameter, decay, scale));
        }
        return result;
    }

    /// <summary>
    /// Writes what was trained to <paramref name="folder"/>: the PEFT adapter (LoRA) or a full HF model folder
    /// (freeze, full), plus the tokenizer files so the folder can be chatted with directly.
    /// </summary>
    public void SaveTo(string folder)
    {
        Directory.CreateDirectory(folder);
        if (Method == FinetuningType.Lora)
            PeftAdapterFiles.Save(Model, folder, Adapter!);
        else
            HfModelSaver.Save(Model, folder, Model.DType, generation: Generation);
        ValueHead?.Save(folder);
        HfModelSaver.CopyTokenizerFiles(ModelFolder, folder);
    }

    /// <summary>
    /// Restores trained weights from a checkpoint folder written by <see cref="SaveTo"/> (the adapter's A/B, or the
    /// trainable tensors of a full/freeze model).
    /// </summary>
    public void RestoreFrom(string folder)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        ValueHead?.Load(folder);
        if (Method == FinetuningType.Lora)
        {
            using var file = Checkpoints.SafetensorsFile.Open(Path.Combine(folder, PeftAdapterFiles.WeightsFileName));
            foreach (var (name, tensor) in PeftAdapterFiles.StateDict(Model, Adapter!.ModulesToSave))
            {
                string stored = file.Header.Tensors.Any(t => t.Name == name) ? name
                    : throw new InvalidDataException($"{file.Path}: tensor '{name}' is missing; the checkpoint was written by a different run setup.");
                tensor.copy_(file.Read(stored, tensor.dtype, tensor.device));
            }
            return;
        }
        using var checkpoint = Checkpoints.SafetensorsCheckpoint.Open(folder);
        var mapper = ModelFamilies.Get(Model.Config.ModelType).Mapper;
        HfModelLoader.LoadWeights(Model, checkpoint, mapper);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        ValueHead?.Dispose();
        if (PissaInitial is not null)
            foreach (var tensor in PissaInitial.Values) tensor.Dispose();
    }
}
