using LlamaBoard.Engine.Configuration;
using static LlamaBoard.Tests.Engine.Configuration.ConfigTestKit;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Key constraints and cross-key rules: one message per problem, naming key, value and what is allowed.</summary>
public class OptionsValidatorTests
{
    /// <summary>A valid LoRA SFT run, to break one thing at a time.</summary>
    static readonly string[] Base =
    [
        "model_name_or_path=models/demo", "stage=sft", "do_train=true", "finetuning_type=lora", "dataset=identity",
        "template=qwen3", "output_dir=saves/x",
    ];

    static List<string> Problems(OptionsPurpose purpose, params string[] overrides)
    {
        var loaded = OptionsLoader.FromOverrides(Base.Concat(overrides));
        Assert.True(loaded.Result.IsValid, string.Join("\n", loaded.Result.Messages));
        return Texts(OptionsValidator.Validate(loaded.Options, purpose));
    }

    [Fact]
    public void The_base_configuration_is_clean() => Assert.Empty(Problems(OptionsPurpose.Train));

    [Theory]
    [InlineData("lora_rank=0", "lora_rank: 0 is not allowed; it must be at least 1")]
    [InlineData("learning_rate=0", "learning_rate: 0.0 is not allowed; it must be greater than 0")]
    [InlineData("learning_rate=-1e-4", "learning_rate: -0.0001 is not allowed; it must be greater than 0")]
    [InlineData("lora_dropout=1", "lora_dropout: 1.0 is not allowed; it must be less than 1")]
    [InlineData("quantization_bit=3", "quantization_bit: 3 is not allowed; it must be one of 4, 8")]
    [InlineData("max_steps=0", "max_steps: 0 is not allowed; it must be different from 0")]
    [InlineData("cutoff_len=1", "cutoff_len: 1 is not allowed; it must be at least 2")]
    [InlineData("top_p=1.5", "top_p: 1.5 is not allowed; it must be at most 1")]
    [InlineData("stage=dpo dpo_label_smoothing=0.6", "dpo_label_smoothing: 0.6 is not allowed; it must be at most 0.5")]
    [InlineData("device=gpu", "device: 'gpu' is not allowed; allowed values: auto, cpu, cuda, cuda:N")]
    [InlineData("val_size=2.5", "val_size: 2.5 is not allowed; it must be a fraction below 1 or a whole number of examples")]
    public void Value_problems_have_exact_messages(string setting, string expected) =>
        Assert.Equal([expected], Problems(OptionsPurpose.Train, setting.Split(' ')));

    [Theory]
    [InlineData("finetuning_type=freeze loraplus_lr_ratio=16", "loraplus_lr_ratio: 16.0 is only valid with finetuning_type lora (it is freeze)")]
    [InlineData("finetuning_type=full use_dora=true", "use_dora: true is only valid with finetuning_type lora (it is full)")]
    [InlineData("finetuning_type=full use_rslora=true", "use_rslora: true is only valid with finetuning_type lora (it is full)")]
    [InlineData("finetuning_type=freeze pissa_init=true", "pissa_init: true is only valid with finetuning_type lora (it is freeze)")]
    [InlineData("finetuning_type=full quantization_bit=4",
        "quantization_bit: 4 needs finetuning_type lora (QLoRA); quantized weights cannot be trained with finetuning_type full")]
    [InlineData("bf16=true fp16=true", "fp16: true cannot be combined with bf16: true; choose one")]
    [InlineData("stage=ppo", "reward_model: required for stage ppo; give the reward adapter or model trained with stage rm")]
    [InlineData("stage=ppo reward_model=saves/rm finetuning_type=full",
        "reward_model_type: lora needs finetuning_type lora (it is full); use reward_model_type full")]
    [InlineData("stage=dpo pref_loss=ipo dpo_label_smoothing=0.1", "dpo_label_smoothing: 0.1 is only valid with pref_loss sigmoid (it is ipo)")]
    [InlineData("stage=dpo predict_with_generate=true val_size=0.1", "predict_with_generate: true is only valid with stage sft (it is dpo)")]
    [InlineData("mask_history=true train_on_prompt=true", "mask_history: true cannot be combined with train_on_prompt: true; choose one")]
    [InlineData("do_eval=true", "do_eval: true needs evaluation data; set eval_dataset or val_size")]
    [InlineData("eval_strategy=steps", "eval_strategy: steps needs evaluation data; set eval_dataset or val_size")]
    [InlineData("val_size=0.1 eval_dataset=other", "val_size: 0.1 cannot be combined with eval_dataset; use one source of evaluation data")]
    [InlineData("dataset=a,b interleave_probs=0.5,0.5", "interleave_probs: 0.5,0.5 is only valid with an interleave mix_strategy (it is concat)")]
    [InlineData("mix_strategy=interleave_over interleave_probs=0.5,0.5",
        "interleave_probs: 0.5,0.5 gives 2 probabilities for 1 datasets; give one per dataset")]
    [InlineData("dataset=a,b mix_strategy=interleave_over interleave_probs=0.2,0.2",
        "interleave_probs: 0.2,0.2 is not allowed; the probabilities must be at least 0 and add up to 1")]
    [InlineData("use_galore=true", "use_galore: true cannot be combined with finetuning_type lora; use full or freeze")]
    [InlineData("finetuning_type=full use_galore=true use_badam=true", "use_badam: true cannot be combined with use_galore: true; choose one")]
    [InlineData("lora_target=all,q_proj", "lora_target: 'all,q_proj' mixes all with module names; write all, or list the modules")]
    [InlineData("stage=kto pissa_init=true", "pissa_init: true cannot be used with stage kto")]
    [InlineData("stage=rm packing=true", "packing: true is only valid with stage pt or sft (it is rm)")]
    [InlineData("do_train=false do_predict=true val_size=0.1", "do_predict: true needs predict_with_generate: true to save predictions")]
    [InlineData("disable_gradient_checkpointing=true gradient_checkpointing=true",
        "gradient_checkpointing: true contradicts disable_gradient_checkpointing: true; keep one")]
    public void Cross_key_rules_have_exact_messages(string settings, string expected) =>
        Assert.Equal([expected], Problems(OptionsPurpose.Train, settings.Split(' ')));

    [Theory]
    [InlineData("finetuning_type=full lora_rank=16", "lora_rank: 16 has no effect with finetuning_type full; it applies to lora")]
    [InlineData("freeze_trainable_layers=4", "freeze_trainable_layers: 4 has no effect with finetuning_type lora; it applies to freeze")]
    [InlineData("pref_beta=0.5", "pref_beta: 0.5 has no effect with stage sft; it applies to dpo and kto")]
    [InlineData("ppo_epochs=2", "ppo_epochs: 2 has no effect with stage sft; it applies to ppo")]
    [InlineData("report_to=wandb", "report_to: wandb is ignored; LlamaBoard records metrics in trainer_log.jsonl and on its board")]
    [InlineData("warmup_steps=10 warmup_ratio=0.1", "warmup_ratio: 0.1 has no effect because warmup_steps is 10")]
    public void Settings_without_effect_are_warnings(string settings, string expected)
    {
        var loaded = OptionsLoader.FromOverrides(Base.Concat(settings.Split(' ')));
        var report = OptionsValidator.Validate(loaded.Options, OptionsPurpose.Train);
        var message = Assert.Single(report.Messages);
        Assert.Equal(expected, message.Text);
        Assert.Equal(MessageSeverity.Warning, message.Severity);
        Assert.True(report.IsValid);
    }

    [Fact]
    public void Every_problem_is_reported_not_only_the_first()
    {
        var problems = Problems(OptionsPurpose.Train, "lora_rank=0", "learning_rate=0", "bf16=true", "fp16=true", "stage=ppo");
        Assert.Equal(
        [
            "lora_rank: 0 is not allowed; it must be at least 1",
            "learning_rate: 0.0 is not allowed; it must be greater than 0",
            "fp16: true cannot be combined with bf16: true; choose one",
            "reward_model: required for stage ppo; give the reward adapter or model trained with stage rm",
        ], problems);
    }

    [Fact]
    public void Each_command_requires_what_it_needs()
    {
        var empty = new LlamaBoardOptions();
        Assert.Empty(OptionsValidator.Validate(empty, OptionsPurpose.Any).Messages);
        Assert.Equal(
        [
            "model_name_or_path: required; give the folder of a Hugging Face model (config.json, *.safetensors, tokenizer.json)",
            "do_train: false, and do_eval and do_predict are false too: nothing to run; set do_train: true",
            "output_dir: required for training; e.g. saves/<model>/<method>/<stage>",
            "template: not set; conversations need a chat template that matches the model (e.g. qwen3 for the demo model)",
        ], Texts(OptionsValidator.Validate(empty, OptionsPurpose.Train)));

        var model = OptionsLoader.FromOverrides(["model_name_or_path=m", "do_train=true", "output_dir=o", "template=qwen3"]).Options;
        Assert.Equal(["dataset: required for training; name datasets from data/dataset_info.json"],
            Texts(OptionsValidator.Validate(model, OptionsPurpose.Train)));
        Assert.Equal(["export_dir: required for export; give the folder to write the model to"],
            Texts(OptionsValidator.Validate(model, OptionsPurpose.Export)));
        Assert.Empty(OptionsValidator.Validate(model, OptionsPurpose.Chat).Messages);
    }

    [Fact]
    public void Extra_checks_plug_in_with_the_purpose()
    {
        var check = new RecordingCheck();
        var options = OptionsLoader.FromOverrides(Base.Append("stage=dpo")).Options;
        var report = OptionsValidator.Validate(options, OptionsPurpose.Train, [check]);
        Assert.Equal(OptionsPurpose.Train, check.Purpose);
        Assert.Equal(["dataset: identity is not a ranking dataset; stage dpo needs pairs of chosen and rejected answers"], Texts(report));
        Assert.False(report.IsValid);
    }

    [Fact]
    public void Loaded_messages_point_at_the_line_that_set_the_key()
    {
        var loaded = OptionsLoader.LoadYaml("model_name_or_path: m\nlora_rank: 0\n", "run.yaml", ["learning_rate=0"]);
        var report = OptionsValidator.Validate(loaded, OptionsPurpose.Any);
        Assert.Equal(["run.yaml:2: lora_rank: 0 is not allowed; it must be at least 1",
                      "command line: learning_rate: 0.0 is not allowed; it must be greater than 0"],
            report.Messages.Select(m => m.ToString()));
    }

    /// <summary>Stands in for the data worker's dataset check.</summary>
    sealed class RecordingCheck : IOptionsCheck
    {
        public OptionsPurpose? Purpose { get; private set; }

        public IEnumerable<ConfigMessage> Check(LlamaBoardOptions options, OptionsPurpose purpose)
        {
            Purpose = purpose;
            if (options.Finetuning.Stage == TrainingStage.Dpo)
                yield return ConfigMessage.Error("dataset",
                    $"{string.Join(",", options.Data.Dataset!)} is not a ranking dataset; stage dpo needs pairs of chosen and rejected answers");
        }
    }
}
