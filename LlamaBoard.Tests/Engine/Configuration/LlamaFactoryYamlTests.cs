using LlamaBoard.Engine.Configuration;
using static LlamaBoard.Tests.Engine.Configuration.ConfigTestKit;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>
/// Files in LLaMA-Factory's documented layout (its examples/ directory: section comments, trailing choice
/// comments, trust_remote_code, report_to none, ddp_timeout, a commented-out eval block) run here with only the
/// model path changed: they parse into the expected options, and each key LlamaBoard ignores is named.
/// </summary>
public class LlamaFactoryYamlTests
{
    const string LoraSft = """
        ### model
        model_name_or_path: models/demo
        trust_remote_code: true

        ### method
        stage: sft
        do_train: true
        finetuning_type: lora
        lora_rank: 8
        lora_target: all

        ### dataset
        dataset: identity,alpaca_demo
        template: qwen3
        cutoff_len: 2048
        max_samples: 1000
        overwrite_cache: true
        preprocessing_num_workers: 16
        dataloader_num_workers: 4

        ### output
        output_dir: saves/demo/lora/sft
        logging_steps: 10
        save_steps: 500
        plot_loss: true
        overwrite_output_dir: true
        save_only_model: false
        report_to: none  # choices: [none, wandb, tensorboard, swanlab, mlflow]

        ### train
        per_device_train_batch_size: 1
        gradient_accumulation_steps: 8
        learning_rate: 1.0e-4
        num_train_epochs: 3.0
        lr_scheduler_type: cosine
        warmup_ratio: 0.1
        bf16: true
        ddp_timeout: 180000000
        resume_from_checkpoint: null

        ### eval
        # eval_dataset: alpaca_demo
        # val_size: 0.1
        # per_device_eval_batch_size: 1
        # eval_strategy: steps
        # eval_steps: 500
        """;

    [Fact]
    public void Lora_sft_file_parses_into_the_expected_options()
    {
        var loaded = OptionsLoader.LoadYaml(LoraSft, "llama3_lora_sft.yaml");
        var o = loaded.Options;
        Assert.Equal("models/demo", o.Model.ModelNameOrPath);
        Assert.Equal(TrainingStage.Sft, o.Finetuning.Stage);
        Assert.True(o.Training.DoTrain);
        Assert.Equal(FinetuningType.Lora, o.Finetuning.FinetuningType);
        Assert.Equal(8, o.Finetuning.Lora.Rank);
        Assert.Equal(16, o.Finetuning.Lora.EffectiveAlpha);
        Assert.True(o.Finetuning.Lora.TargetsAllLinear);
        Assert.Equal(["identity", "alpaca_demo"], o.Data.Dataset!);
        Assert.Equal("qwen3", o.Data.Template);
        Assert.Equal(2048, o.Data.CutoffLen);
        Assert.Equal(1000, o.Data.MaxSamples);
        Assert.True(o.Data.OverwriteCache);
        Assert.Equal(16, o.Data.PreprocessingNumWorkers);
        Assert.Equal("saves/demo/lora/sft", o.Training.OutputDir);
        Assert.Equal(10, o.Training.LoggingSteps);
        Assert.Equal(500, o.Training.SaveSteps);
        Assert.True(o.Finetuning.PlotLoss);
        Assert.True(o.Training.OverwriteOutputDir);
        Assert.False(o.Training.SaveOnlyModel);
        Assert.Equal(["none"], o.Training.ReportTo);
        Assert.Equal(1, o.Training.PerDeviceTrainBatchSize);
        Assert.Equal(8, o.Training.GradientAccumulationSteps);
        Assert.Equal(1e-4, o.Training.LearningRate);
        Assert.Equal(3.0, o.Training.NumTrainEpochs);
        Assert.Equal(SchedulerType.Cosine, o.Training.LrSchedulerType);
        Assert.Equal(0.1, o.Training.WarmupRatio);
        Assert.True(o.Training.Bf16);
        Assert.Null(o.Training.ResumeFromCheckpoint);
        Assert.Equal(0.0, o.Data.ValSize);

        Assert.Equal(
        [
            "llama3_lora_sft.yaml:3: trust_remote_code: true is ignored; LlamaBoard never runs Python code shipped with a model; model families are built in",
            "llama3_lora_sft.yaml:19: dataloader_num_workers: 4 is ignored; LlamaBoard's data pipeline has no such setting",
            "llama3_lora_sft.yaml:38: ddp_timeout: 180000000 is ignored; LlamaBoard trains in one process on one device; distributed training (DeepSpeed, FSDP, DDP, Ray, Megatron) is not available",
        ], OptionsValidator.Validate(loaded, OptionsPurpose.Train).Messages.Select(m => m.ToString()));
    }

    [Fact]
    public void Deepspeed_and_eval_variant()
    {
        string yaml = LoraSft
            .Replace("resume_from_checkpoint: null", "resume_from_checkpoint: null\ndeepspeed: examples/deepspeed/ds_z3_config.json", StringComparison.Ordinal)
            .Replace("# val_size: 0.1", "val_size: 0.1", StringComparison.Ordinal)
            .Replace("# per_device_eval_batch_size: 1", "per_device_eval_batch_size: 1", StringComparison.Ordinal)
            .Replace("# eval_strategy: steps", "eval_strategy: steps", StringComparison.Ordinal)
            .Replace("# eval_steps: 500", "eval_steps: 500", StringComparison.Ordinal);
        var loaded = OptionsLoader.LoadYaml(yaml);
        var report = OptionsValidator.Validate(loaded, OptionsPurpose.Train);
        Assert.True(report.IsValid, string.Join("\n", report.Messages));
        Assert.Equal(["trust_remote_code", "dataloader_num_workers", "ddp_timeout", "deepspeed"], report.Warnings.Select(m => m.Key));
        Assert.Equal(0.1, loaded.Options.Data.ValSize);
        Assert.Equal(IntervalStrategy.Steps, loaded.Options.Training.EvalStrategy);
        Assert.Equal(500, loaded.Options.EffectiveEvalSteps);
    }

    [Fact]
    public void Dpo_file_with_choice_comments()
    {
        string yaml = LoraSft
            .Replace("stage: sft", "stage: dpo", StringComparison.Ordinal)
            .Replace("lora_target: all", "lora_target: all\npref_beta: 0.1\npref_loss: sigmoid  # choices: [sigmoid (dpo), orpo, simpo]", StringComparison.Ordinal)
            .Replace("dataset: identity,alpaca_demo", "dataset: dpo_demo", StringComparison.Ordinal)
            .Replace("learning_rate: 1.0e-4", "learning_rate: 5.0e-6", StringComparison.Ordinal);
        var loaded = OptionsLoader.LoadYaml(yaml);
        var report = OptionsValidator.Validate(loaded, OptionsPurpose.Train);
        Assert.True(report.IsValid, string.Join("\n", report.Messages));
        Assert.Equal(TrainingStage.Dpo, loaded.Options.Finetuning.Stage);
        Assert.Equal(PreferenceLoss.Sigmoid, loaded.Options.Finetuning.Preference.Loss);
        Assert.Equal(5e-6, loaded.Options.Training.LearningRate);
        Assert.True(loaded.Options.UsesReferenceModel);
    }

    [Fact]
    public void Qlora_file_with_quantization_method()
    {
        string yaml = LoraSft.Replace("trust_remote_code: true",
            "quantization_bit: 4  # choices: [8 (bnb/hqq/eetq), 4 (bnb/hqq), 3 (hqq), 2 (hqq)]\nquantization_method: bnb  # choices: [bnb, hqq, eetq]\ntrust_remote_code: true",
            StringComparison.Ordinal);
        var loaded = OptionsLoader.LoadYaml(yaml);
        Assert.True(OptionsValidator.Validate(loaded, OptionsPurpose.Train).IsValid);
        Assert.Equal(4, loaded.Options.Model.Quantization.Bit);
        Assert.Equal(QuantizationMethod.Bnb, loaded.Options.Model.Quantization.Method);
        Assert.Equal(QuantizationType.Nf4, loaded.Options.Model.Quantization.Type);
    }

    [Fact]
    public void Merge_and_inference_files()
    {
        var merge = OptionsLoader.LoadYaml("""
            ### Note: DO NOT use quantized model or quantization_bit when merging lora adapters

            ### model
            model_name_or_path: models/demo
            adapter_name_or_path: saves/demo/lora/sft
            template: qwen3
            trust_remote_code: true

            ### export
            export_dir: saves/demo/merged
            export_size: 5
            export_device: cpu  # choices: [cpu, auto]
            export_legacy_format: false
            """);
        var mergeReport = OptionsValidator.Validate(merge, OptionsPurpose.Export);
        Assert.True(mergeReport.IsValid, string.Join("\n", mergeReport.Messages));
        Assert.Equal(["trust_remote_code"], mergeReport.Warnings.Select(m => m.Key));
        Assert.Equal("saves/demo/merged", merge.Options.Export.ExportDir);
        Assert.Equal(ExportDevice.Cpu, merge.Options.Export.ExportDevice);
        Assert.Equal(ExportFormat.HuggingFace, merge.Options.Export.ExportFormat);
        Assert.Equal(["saves/demo/lora/sft"], merge.Options.Model.AdapterNameOrPath!);

        var chat = OptionsLoader.LoadYaml("""
            model_name_or_path: models/demo
            adapter_name_or_path: saves/demo/lora/sft
            template: qwen3
            infer_backend: huggingface  # choices: [huggingface, vllm, sglang, ktransformers]
            trust_remote_code: true
            """);
        var chatReport = OptionsValidator.Validate(chat, OptionsPurpose.Chat);
        Assert.True(chatReport.IsValid);
        Assert.Equal(["trust_remote_code"], chatReport.Warnings.Select(m => m.Key));
    }

    [Fact]
    public void Saving_a_llama_factory_file_keeps_its_ignored_keys()
    {
        var loaded = OptionsLoader.LoadYaml(LoraSft);
        string saved = OptionsWriter.ToYaml(loaded.Options);
        Assert.Contains("ddp_timeout: 180000000  # ignored by LlamaBoard\n", saved);
        Assert.Contains("trust_remote_code: true  # ignored by LlamaBoard\n", saved);
        var again = OptionsLoader.LoadYaml(saved);
        Assert.Equal(Snapshot(loaded.Options), Snapshot(again.Options));
        Assert.Equal(loaded.Result.Warnings.Select(m => m.Text), again.Result.Warnings.Select(m => m.Text));
    }
}
