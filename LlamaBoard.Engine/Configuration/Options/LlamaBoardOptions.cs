using TorchSharp;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// Everything a LlamaBoard run is told: the typed form of a LLaMA-Factory YAML file. The web form, the YAML
/// loader and the command line all produce one of these; the engine consumes it after
/// <see cref="OptionsValidator"/> has checked it. Every key is listed, with its group, type, default and help, by
/// <see cref="OptionRegistry"/>.
/// </summary>
public sealed class LlamaBoardOptions
{
    /// <summary>Model folder, adapters, device, quantization.</summary>
    [OptionGroup("model")]
    public ModelOptions Model { get; set; } = new();

    /// <summary>Datasets, template and tokenization.</summary>
    [OptionGroup("data")]
    public DataOptions Data { get; set; } = new();

    /// <summary>Stage and method: LoRA, freeze, full, preference settings, GaLore, BAdam.</summary>
    [OptionGroup("finetuning")]
    public FinetuningOptions Finetuning { get; set; } = new();

    /// <summary>Decoding settings.</summary>
    [OptionGroup("generating")]
    public GeneratingOptions Generating { get; set; } = new();

    /// <summary>The training loop: batches, optimizer, schedule, precision, logging, checkpoints.</summary>
    [OptionGroup("training")]
    public TrainerOptions Training { get; set; } = new();

    /// <summary>Merged-model export.</summary>
    [OptionGroup("export")]
    public ExportOptions Export { get; set; } = new();

    /// <summary>
    /// LLaMA-Factory keys that LlamaBoard knows but does not act on (DeepSpeed, vLLM, trackers, …), as read, so
    /// that saving writes them back. Loading reports each one whose value differs from LLaMA-Factory's default.
    /// </summary>
    public SortedDictionary<string, ConfigNode> IgnoredKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>A deep copy (every key, ignored keys included).</summary>
    public LlamaBoardOptions Clone()
    {
        var copy = new LlamaBoardOptions();
        foreach (var key in OptionRegistry.Keys)
            key.SetValue(copy, key.GetValue(this));
        return copy;
    }

    // ---- Values derived from several keys, as LLaMA-Factory derives them (never set directly). ----

    /// <summary>Packing in effect: neat_packing implies it; unset packing means on for pre-training only.</summary>
    public bool UsePacking => Data.NeatPacking || (Data.Packing ?? Finetuning.Stage == TrainingStage.Pretrain);

    /// <summary>The model's maximum input length for this run (LLaMA-Factory's derived model_max_length): cutoff_len.</summary>
    public int ModelMaxLength => Data.CutoffLen;

    /// <summary>The training compute dtype: bfloat16 with bf16 or pure_bf16, float16 with fp16, else float32.</summary>
    public torch.ScalarType ComputeDType =>
        Training.Bf16 || Finetuning.PureBf16 ? torch.ScalarType.BFloat16
        : Training.Fp16 ? torch.ScalarType.Float16
        : torch.ScalarType.Float32;

    /// <summary>Gradient checkpointing in effect: on unless disable_gradient_checkpointing.</summary>
    public bool UseGradientCheckpointing => !Model.DisableGradientCheckpointing;

    /// <summary>
    /// True when the stage compares against a frozen reference policy: dpo (except the reference-free orpo and
    /// simpo losses) and kto.
    /// </summary>
    public bool UsesReferenceModel =>
        Finetuning.Stage == TrainingStage.Kto
        || (Finetuning.Stage == TrainingStage.Dpo
            && Finetuning.Preference.Loss is not (PreferenceLoss.Orpo or PreferenceLoss.Simpo));

    /// <summary>Steps between evaluations in effect: eval_steps, or logging_steps when unset.</summary>
    public int EffectiveEvalSteps => Training.EvalSteps ?? Training.LoggingSteps;

    /// <summary>True when some evaluation data exists: an eval_dataset or a val_size split.</summary>
    public bool HasEvaluationData => Data.EvalDataset is { Count: > 0 } || Data.ValSize > 1e-6;
}
