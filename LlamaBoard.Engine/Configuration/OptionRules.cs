namespace LlamaBoard.Engine.Configuration;

/// <summary>One cross-key check: a name (for tests and docs) and the messages it gives for some options.</summary>
public sealed record OptionRule(string Name, Func<LlamaBoardOptions, OptionsPurpose, IEnumerable<ConfigMessage>> Check);

/// <summary>
/// The cross-key rules, mostly LLaMA-Factory's own (its argument parser refuses the same combinations), plus
/// what each command needs. Keys that only apply to some methods or stages are tables, not conditions: a key set
/// where it has no effect gets a warning rather than being dropped silently.
/// </summary>
public static class OptionRules
{
    /// <summary>Keys LLaMA-Factory refuses outside LoRA tuning.</summary>
    static readonly string[] LoraOnly = ["loraplus_lr_ratio", "use_rslora", "use_dora", "pissa_init", "adapter_name_or_path"];

    /// <summary>LoRA settings that have no effect outside LoRA tuning.</summary>
    static readonly string[] LoraShape =
    [
        "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "additional_target", "loraplus_lr_embedding",
        "pissa_iter", "pissa_convert", "create_new_adapter",
    ];

    /// <summary>Freeze settings that have no effect outside freeze tuning.</summary>
    static readonly string[] FreezeShape = ["freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules"];

    /// <summary>Keys LLaMA-Factory allows with stage sft only (errors elsewhere).</summary>
    static readonly string[] SftOnly = ["predict_with_generate", "neat_packing", "train_on_prompt", "mask_history"];

    /// <summary>Keys that act in some stages only (warnings elsewhere).</summary>
    static readonly (string Key, TrainingStage[] Stages)[] StageKeys =
    [
        ("pref_beta", [TrainingStage.Dpo, TrainingStage.Kto]),
        ("pref_ftx", [TrainingStage.Dpo, TrainingStage.Kto]),
        ("pref_loss", [TrainingStage.Dpo]),
        ("dpo_label_smoothing", [TrainingStage.Dpo]),
        ("simpo_gamma", [TrainingStage.Dpo]),
        ("kto_chosen_weight", [TrainingStage.Kto]),
        ("kto_rejected_weight", [TrainingStage.Kto]),
        ("ref_model", [TrainingStage.Dpo, TrainingStage.Kto, TrainingStage.Ppo]),
        ("ref_model_adapters", [TrainingStage.Dpo, TrainingStage.Kto, TrainingStage.Ppo]),
        ("ref_model_quantization_bit", [TrainingStage.Dpo, TrainingStage.Kto, TrainingStage.Ppo]),
        ("reward_model", [TrainingStage.Ppo]),
        ("reward_model_adapters", [TrainingStage.Ppo]),
        ("reward_model_quantization_bit", [TrainingStage.Ppo]),
        ("reward_model_type", [TrainingStage.Ppo]),
        ("ppo_buffer_size", [TrainingStage.Ppo]),
        ("ppo_epochs", [TrainingStage.Ppo]),
        ("ppo_score_norm", [TrainingStage.Ppo]),
        ("ppo_target", [TrainingStage.Ppo]),
        ("ppo_whiten_rewards", [TrainingStage.Ppo]),
    ];

    /// <summary>Keys whose value is "all" or a list of module names, never both.</summary>
    static readonly string[] ModuleLists = ["lora_target", "freeze_trainable_modules", "galore_target"];

    /// <summary>Every rule, in the order their messages appear.</summary>
    public static IReadOnlyList<OptionRule> All { get; } =
    [
        new("required-model", (o, p) => When(p != OptionsPurpose.Any && o.Model.ModelNameOrPath is null,
            "model_name_or_path", "required; give the folder of a Hugging Face model (config.json, *.safetensors, tokenizer.json)")),
        new("device-spelling", (o, _) => When(!OptionsValidator.IsDeviceSpelling(o.Model.Device),
            "device", $"'{o.Model.Device}' is not allowed; allowed values: auto, cpu, cuda, cuda:N")),

        new("lora-only", (o, _) => o.Finetuning.FinetuningType == FinetuningType.Lora ? [] :
            LoraOnly.Where(k => IsSet(o, k)).Select(k => ConfigMessage.Error(k,
                $"{Show(o, k)} is only valid with finetuning_type lora (it is {Show(o, "finetuning_type")})"))),
        new("lora-settings-unused", (o, p) => !IsTraining(p) || o.Finetuning.FinetuningType == FinetuningType.Lora ? [] :
            LoraShape.Where(k => IsSet(o, k)).Select(k => ConfigMessage.Warning(k,
                $"{Show(o, k)} has no effect with finetuning_type {Show(o, "finetuning_type")}; it applies to lora"))),
        new("freeze-settings-unused", (o, p) => !IsTraining(p) || o.Finetuning.FinetuningType == FinetuningType.Freeze ? [] :
            FreezeShape.Where(k => IsSet(o, k)).Select(k => ConfigMessage.Warning(k,
                $"{Show(o, k)} has no effect with finetuning_type {Show(o, "finetuning_type")}; it applies to freeze"))),
        new("all-or-modules", (o, _) => ModuleLists.Select(k => (Key: k, List: (IReadOnlyList<string>)OptionRegistry.Get(k).GetValue(o)!))
            .Where(x => x.List.Count > 1 && x.List.Any(m => m.Equals("all", StringComparison.OrdinalIgnoreCase)))
            .Select(x => ConfigMessage.Error(x.Key, $"'{Show(o, x.Key)}' mixes all with module names; write all, or list the modules"))),

        new("quantization", Quantization),
        new("precision", (o, _) => Concat(
            When(o.Training.Bf16 && o.Training.Fp16, "fp16", "true cannot be combined with bf16: true; choose one"),
            When(o.Finetuning.PureBf16 && o.Training.Fp16, "fp16", "true cannot be combined with pure_bf16: true; choose one"),
            When(o.Training.GradientCheckpointing && o.Model.DisableGradientCheckpointing,
                "gradient_checkpointing", "true contradicts disable_gradient_checkpointing: true; keep one"))),
        new("optimizer-methods", (o, _) => Concat(
            When(o.Finetuning.GaLore.UseGalore && o.Finetuning.FinetuningType == FinetuningType.Lora,
                "use_galore", "true cannot be combined with finetuning_type lora; use full or freeze"),
            When(o.Finetuning.BAdam.UseBadam && o.Finetuning.FinetuningType == FinetuningType.Lora,
                "use_badam", "true cannot be combined with finetuning_type lora; use full or freeze"),
            When(o.Finetuning.GaLore.UseGalore && o.Finetuning.BAdam.UseBadam,
                "use_badam", "true cannot be combined with use_galore: true; choose one"))),
        new("pissa-stage", (o, p) => When(IsTraining(p) && o.Finetuning.Lora.PissaInit
                && (o.Finetuning.Stage is TrainingStage.Ppo or TrainingStage.Kto || o.UsesReferenceModel),
            "pissa_init", $"true cannot be used with stage {Show(o, "stage")}" +
                          (o.Finetuning.Stage == TrainingStage.Dpo ? $" and pref_loss {Show(o, "pref_loss")} (it needs a reference model)" : ""))),

        new("sft-only", (o, p) => !IsTraining(p) || o.Finetuning.Stage == TrainingStage.Sft ? [] :
            SftOnly.Where(k => IsSet(o, k)).Select(k => ConfigMessage.Error(k,
                $"{Show(o, k)} is only valid with stage sft (it is {Show(o, "stage")})"))),
        new("stage-settings-unused", (o, p) => !IsTraining(p) ? [] :
            StageKeys.Where(x => !x.Stages.Contains(o.Finetuning.Stage) && IsSet(o, x.Key)).Select(x => ConfigMessage.Warning(x.Key,
                $"{Show(o, x.Key)} has no effect with stage {Show(o, "stage")}; it applies to {string.Join(" and ", x.Stages.Select(Spell))}"))),
        new("packing-stage", (o, p) => When(IsTraining(p) && o.Data.Packing == true && o.Finetuning.Stage is not (TrainingStage.Pretrain or TrainingStage.Sft),
            "packing", $"true is only valid with stage pt or sft (it is {Show(o, "stage")})")),
        new("ppo", Ppo),
        new("dpo-label-smoothing", (o, p) => When(IsTraining(p) && o.Finetuning.Stage == TrainingStage.Dpo
                && o.Finetuning.Preference.Loss != PreferenceLoss.Sigmoid && o.Finetuning.Preference.DpoLabelSmoothing > 1e-6,
            "dpo_label_smoothing", $"{Show(o, "dpo_label_smoothing")} is only valid with pref_loss sigmoid (it is {Show(o, "pref_loss")})")),

        new("data", Data),
        new("evaluation", Evaluation),
        new("train-needs", TrainNeeds),
        new("template", (o, p) => When(p is OptionsPurpose.Train or OptionsPurpose.Chat or OptionsPurpose.Api
                && o.Data.Template is null && !(p == OptionsPurpose.Train && o.Finetuning.Stage == TrainingStage.Pretrain),
            "template", "not set; conversations need a chat template that matches the model (e.g. qwen3 for the demo model)",
            MessageSeverity.Warning)),
        new("export-needs", (o, p) => p != OptionsPurpose.Export ? [] : Concat(
            When(o.Export.ExportDir is null, "export_dir", "required for export; give the folder to write the model to"),
            When(o.Model.Quantization.Bit is not null, "quantization_bit",
                $"{Show(o, "quantization_bit")} cannot be used when exporting; adapters are merged into the full-precision model"))),
        new("warmup", (o, _) => When(o.Training.WarmupSteps > 0 && o.Training.WarmupRatio > 0, "warmup_ratio",
            $"{Show(o, "warmup_ratio")} has no effect because warmup_steps is {Show(o, "warmup_steps")}", MessageSeverity.Warning)),
        new("report-to", (o, _) => o.Training.ReportTo
            .Where(t => !t.Equals("none", StringComparison.OrdinalIgnoreCase))
            .Select(t => ConfigMessage.Warning("report_to",
                $"{t} is ignored; LlamaBoard records metrics in trainer_log.jsonl and on its board"))),
    ];

    static IEnumerable<ConfigMessage> Quantization(LlamaBoardOptions o, OptionsPurpose p)
    {
        if (o.Model.Quantization.Bit is null) yield break;
        string bits = Show(o, "quantization_bit");
        if (o.Finetuning.FinetuningType != FinetuningType.Lora && IsTraining(p))
            yield return ConfigMessage.Error("quantization_bit",
                $"{bits} needs finetuning_type lora (QLoRA); quantized weights cannot be trained with finetuning_type {Show(o, "finetuning_type")}");
        if (o.Finetuning.Lora.PissaInit)
            yield return ConfigMessage.Error("pissa_init", "true cannot be combined with quantization_bit; initialise PiSSA on the unquantized model");
        if (o.Model.ResizeVocab)
            yield return ConfigMessage.Error("resize_vocab", "true cannot resize the embeddings of a quantized model");
        if (o.Model.AdapterNameOrPath is { Count: > 0 } adapters)
        {
            if (o.Finetuning.Lora.CreateNewAdapter)
                yield return ConfigMessage.Error("create_new_adapter", "true cannot add an adapter to a quantized model that already has adapters");
            if (adapters.Count > 1)
                yield return ConfigMessage.Error("adapter_name_or_path", "a quantized model takes a single adapter; merge the adapters first");
        }
    }

    static IEnumerable<ConfigMessage> Ppo(LlamaBoardOptions o, OptionsPurpose p)
    {
        if (!IsTraining(p) || o.Finetuning.Stage != TrainingStage.Ppo) yield break;
        var preference = o.Finetuning.Preference;
        if (preference.RewardModel is null)
            yield return ConfigMessage.Error("reward_model", "required for stage ppo; give the reward adapter or model trained with stage rm");
        if (preference.RewardModelType == RewardModelType.Lora && o.Finetuning.FinetuningType != FinetuningType.Lora)
            yield return ConfigMessage.Error("reward_model_type",
                $"lora needs finetuning_type lora (it is {Show(o, "finetuning_type")}); use reward_model_type full");
        if (p == OptionsPurpose.Train && !o.Training.DoTrain)
            yield return ConfigMessage.Error("do_train", "false: stage ppo can only train; evaluate PPO models with stage sft");
    }

    static IEnumerable<ConfigMessage> Data(LlamaBoardOptions o, OptionsPurpose p)
    {
        var data = o.Data;
        if (data.MaskHistory && data.TrainOnPrompt)
            yield return ConfigMessage.Error("mask_history", "true cannot be combined with train_on_prompt: true; choose one");
        if (data.ValSize >= 1 && data.ValSize != Math.Floor(data.ValSize))
            yield return ConfigMessage.Error("val_size", $"{Show(o, "val_size")} is not allowed; it must be a fraction below 1 or a whole number of examples");
        if (data.ValSize > 1e-6 && data.EvalDataset is { Count: > 0 })
            yield return ConfigMessage.Error("val_size", $"{Show(o, "val_size")} cannot be combined with eval_dataset; use one source of evaluation data");
        if (data.ValSize > 1e-6 && data.Dataset is null && IsTraining(p))
            yield return ConfigMessage.Error("val_size", $"{Show(o, "val_size")} needs a dataset to split");
        if (data.InterleaveProbs is { } probabilities)
        {
            if (data.MixStrategy == MixStrategy.Concat)
                yield return ConfigMessage.Error("interleave_probs",
                    $"{Show(o, "interleave_probs")} is only valid with an interleave mix_strategy (it is concat)");
            if (data.Dataset is { } datasets && datasets.Count != probabilities.Count)
                yield return ConfigMessage.Error("interleave_probs",
                    $"{Show(o, "interleave_probs")} gives {probabilities.Count} probabilities for {datasets.Count} datasets; give one per dataset");
            if (probabilities.Any(x => x < 0) || Math.Abs(probabilities.Sum() - 1) > 1e-6)
                yield return ConfigMessage.Error("interleave_probs",
                    $"{Show(o, "interleave_probs")} is not allowed; the probabilities must be at least 0 and add up to 1");
        }
    }

    static IEnumerable<ConfigMessage> Evaluation(LlamaBoardOptions o, OptionsPurpose p)
    {
        if (!IsTraining(p)) yield break;
        var t = o.Training;
        string? trigger = t.DoEval ? "do_eval" : t.DoPredict ? "do_predict" : t.PredictWithGenerate ? "predict_with_generate"
            : t.EvalStrategy != IntervalStrategy.No ? "eval_strategy" : null;
        if (trigger is not null && !o.HasEvaluationData)
            yield return ConfigMessage.Error(trigger, $"{Show(o, trigger)} needs evaluation data; set eval_dataset or val_size");
        if (o.Finetuning.Stage == TrainingStage.Sft && t.DoPredict && !t.PredictWithGenerate)
            yield return ConfigMessage.Error("do_predict", "true needs predict_with_generate: true to save predictions");
        if (t.PredictWithGenerate && o.Finetuning.ComputeAccuracy)
            yield return ConfigMessage.Error("compute_accuracy", "true cannot be combined with predict_with_generate: true; choose one");
    }

    static IEnumerable<ConfigMessage> TrainNeeds(LlamaBoardOptions o, OptionsPurpose p)
    {
        if (p != OptionsPurpose.Train) yield break;
        var t = o.Training;
        if (!t.DoTrain && !t.DoEval && !t.DoPredict)
            yield return ConfigMessage.Error("do_train", "false, and do_eval and do_predict are false too: nothing to run; set do_train: true");
        if (t.DoTrain && o.Data.Dataset is null)
            yield return ConfigMessage.Error("dataset", $"required for training; name datasets from {o.Data.DatasetDir}/dataset_info.json");
        if (t.OutputDir is null)
            yield return ConfigMessage.Error("output_dir", "required for training; e.g. saves/<model>/<method>/<stage>");
    }

    static bool IsTraining(OptionsPurpose purpose) => purpose is OptionsPurpose.Train or OptionsPurpose.Any;

    /// <summary>True when a key is switched on (booleans) or differs from its default (other types).</summary>
    static bool IsSet(LlamaBoardOptions o, string name)
    {
        var key = OptionRegistry.Get(name);
        object? value = key.GetValue(o);
        return value is bool flag ? flag && !key.Type.ValuesEqual(value, key.DefaultValue) : !key.IsDefault(o);
    }

    static string Show(LlamaBoardOptions o, string name) => OptionRegistry.Get(name).ShowValue(o);

    static string Spell(TrainingStage stage) => ((EnumType)OptionRegistry.Get("stage").Type).Spell(stage);

    static IEnumerable<ConfigMessage> When(bool condition, string key, string problem, MessageSeverity severity = MessageSeverity.Error)
    {
        if (condition)
            yield return severity == MessageSeverity.Error ? ConfigMessage.Error(key, problem) : ConfigMessage.Warning(key, problem);
    }

    static IEnumerable<ConfigMessage> Concat(params IEnumerable<ConfigMessage>[] parts) => parts.SelectMany(x => x);
}
