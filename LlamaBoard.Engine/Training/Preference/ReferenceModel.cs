using System.Security.Cryptography;
using System.Runtime.InteropServices;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// The frozen policy π_ref that DPO, KTO and PPO compare against. Three kinds, as LLaMA-Factory chooses them:
/// <list type="bullet">
/// <item>LoRA training without <c>ref_model</c>: the policy itself with its adapters switched off
/// (<see cref="LoraAdapter.Disabled"/>), so no second copy of the weights exists;</item>
/// <item>freeze or full training (or LoRA with additional_target modules) without <c>ref_model</c>: a frozen copy of
/// the starting model;</item>
/// <item><c>ref_model</c> (with <c>ref_model_adapters</c> merged): that model, frozen.</item>
/// </list>
/// The reference never changes during a run, so sequence log-probabilities are cached per sequence (keyed by its
/// tokens and labels, whatever the padding) and each sequence goes through the reference once per run.
/// Reference passes run in evaluation mode (no dropout, no NEFTune noise) and without gradient.
/// </summary>
public sealed class ReferenceModel : IDisposable
{
    readonly DecoderModel model;
    readonly bool ownsModel;
    readonly bool disableAdapters;
    readonly Dictionary<(ulong, ulong), float> cache = [];

    ReferenceModel(DecoderModel model, bool ownsModel, bool disableAdapters, string description)
    {
        this.model = model;
        this.ownsModel = ownsModel;
        this.disableAdapters = disableAdapters;
        Description = description;
    }

    /// <summary>What the reference is, for the run's log.</summary>
    public string Description { get; }

    /// <summary>Sequences whose log-probabilities were computed (not taken from the cache) so far.</summary>
    public long Computed { get; private set; }

    /// <summary>Sequences answered from the cache so far.</summary>
    public long CacheHits { get; private set; }

    /// <summary>The policy with its LoRA adapters off.</summary>
    public static ReferenceModel AdapterDisabled(DecoderModel policy) =>
        new(policy, ownsModel: false, disableAdapters: true, "the policy's base weights (LoRA adapters disabled)");

    /// <summary>A separate frozen model, owned (disposed) by the reference.</summary>
    public static ReferenceModel Frozen(DecoderModel copy, string description)
    {
        foreach (var (_, parameter) in copy.NamedParameters()) parameter.requires_grad = false;
        copy.eval();
        return new ReferenceModel(copy, ownsModel: true, disableAdapters: false, description);
    }

    /// <summary>
    /// The reference a preference stage uses for <paramref name="options"/>: ref_model when given, else the policy
    /// with adapters off (LoRA), else a frozen copy of the starting model (freeze, full).
    /// </summary>
    public static ReferenceModel Create(LlamaBoardOptions options, TrainableModel policy, Device device)
    {
        var preference = options.Finetuning.Preference;
        if (preference.RefModelQuantizationBit is not null)
            throw new NotSupportedException("ref_model_quantization_bit: quantized reference models are not supported yet; remove the key.");
        if (preference.RefModel is { Length: > 0 } folder)
        {
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"ref_model: '{folder}' is not a folder; give a local model folder (download hub models first).");
            return Frozen(LoadMerged(folder, preference.RefModelAdapters, options.ComputeDType, device),
                          $"ref_model {folder}" + (preference.RefModelAdapters is { Count: > 0 } a ? $" with {string.Join(", ", a)}" : ""));
        }
        // Switching adapters off does not undo modules trained in full beside them (additional_target); then the
        // starting model must be kept as a copy.
        if (policy.Method == FinetuningType.Lora && policy.Adapter is { ModulesToSave.Count: 0 })
            return AdapterDisabled(policy.Model);
        return Frozen(LoadMerged(policy.ModelFolder, options.Model.AdapterNameOrPath, options.ComputeDType, device),
                      $"a frozen copy of {policy.ModelFolder}");
    }

    /// <summary>Loads a model folder and merges adapters into it (frozen uses: references, reward models).</summary>
    public static DecoderModel LoadMerged(string folder, IReadOnlyList<string>? adapters, ScalarType dtype, Device device)
    {
        var model = HfModelLoader.Load(folder, dtype, device).Model;
        try
        {
            foreach (string adapter in adapters ?? [])
            {
                PeftAdapterFiles.Load(model, adapter);
                LoraAdapter.MergeAll(model);
            }
            foreach (var (_, parameter) in model.NamedParameters()) parameter.requires_grad = false;
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="forward"/> on the reference: adapters off (when the reference is the policy itself),
    /// evaluation mode, no gradient; the policy's mode is restored afterwards.
    /// </summary>
    public T Run<T>(Func<DecoderModel, T> forward)
    {
        using var noGrad = no_grad();
        bool wasTraining = model.training;
        model.eval();
        using var adapters = disableAdapters ? LoraAdapter.Disabled(model) : null;
        try
        {
            return forward(model);
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }

    /// <summary>(B) fp32 Σ log π_ref(label) over each row's learned tokens, from the cache where possible.</summary>
    public Tensor SequenceLogProbs(TokenBatch tokens)
    {
        var keys = RowKeys(tokens);
        var values = new float[keys.Length];
        bool all = true;
        for (int i = 0; i < keys.Length && all; i++) all = cache.TryGetValue(keys[i], out values[i]);
        if (all)
        {
            CacheHits += keys.Length;
            return tensor(values, device: tokens.InputIds.device);
        }
        var sums = Run(m =>
        {
            using var scope = NewDisposeScope();
            return Preference.SequenceLogProbs.Compute(m, tokens, meanLogits: false).Sums.MoveToOuterDisposeScope();
        });
        var computed = sums.cpu().data<float>().ToArray();
        for (int i = 0; i < keys.Length; i++) cache[keys[i]] = computed[i];
        Computed += keys.Length;
        return sums;
    }

    /// <summary>A 128-bit key per row from its non-padding token ids and labels (so padding length does not matter).</summary>
    static (ulong, ulong)[] RowKeys(TokenBatch tokens)
    {
        long rows = tokens.Rows, length = tokens.Length;
        var ids = tokens.InputIds.cpu().data<long>().ToArray();
        var mask = tokens.AttentionMask.cpu().data<long>().ToArray();
        var labels = tokens.Labels.cpu().data<long>().ToArray();
        var keys = new (ulong, ulong)[rows];
        var buffer = new List<long>((int)length * 2);
        Span<byte> hash = stackalloc byte[32];
        for (long r = 0; r < rows; r++)
        {
            buffer.Clear();
            for (long t = 0; t < length; t++)
            {
                long i = r * length + t;
                if (mask[i] == 0) continue;
                buffer.Add(ids[i]);
                buffer.Add(labels[i]);
            }
            SHA256.HashData(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(buffer)), hash);
            keys[r] = (BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
        }
        return keys;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }
}
