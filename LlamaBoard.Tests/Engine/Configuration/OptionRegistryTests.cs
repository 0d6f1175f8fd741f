using System.Text.RegularExpressions;
using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>The key registry: names, defaults (LLaMA-Factory's), types and coverage.</summary>
public class OptionRegistryTests
{
    [Fact]
    public void Names_are_unique_snake_case_and_documented()
    {
        var names = OptionRegistry.Keys.Select(k => k.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(OptionRegistry.Keys, k =>
        {
            Assert.Matches(new Regex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$"), k.Name);
            Assert.False(string.IsNullOrWhiteSpace(k.Doc), k.Name);
        });
        Assert.DoesNotContain(OptionRegistry.RenamedKeys.Values, v => OptionRegistry.Find(v) is null);
        Assert.DoesNotContain(OptionRegistry.RenamedKeys.Keys.Concat(OptionRegistry.DerivedKeys.Keys), n => OptionRegistry.Find(n) is not null);
    }

    [Theory]
    [InlineData("model_name_or_path", "null")]
    [InlineData("stage", "sft")]
    [InlineData("finetuning_type", "lora")]
    [InlineData("template", "null")]
    [InlineData("dataset_dir", "data")]
    [InlineData("cutoff_len", "2048")]
    [InlineData("val_size", "0.0")]
    [InlineData("packing", "null")]
    [InlineData("mix_strategy", "concat")]
    [InlineData("preprocessing_batch_size", "1000")]
    [InlineData("enable_thinking", "true")]
    [InlineData("lora_rank", "8")]
    [InlineData("lora_alpha", "null")]
    [InlineData("lora_dropout", "0.0")]
    [InlineData("lora_target", "all")]
    [InlineData("loraplus_lr_embedding", "1.0e-06")]
    [InlineData("pissa_iter", "16")]
    [InlineData("freeze_trainable_layers", "2")]
    [InlineData("freeze_trainable_modules", "all")]
    [InlineData("quantization_bit", "null")]
    [InlineData("quantization_type", "nf4")]
    [InlineData("double_quantization", "true")]
    [InlineData("pref_beta", "0.1")]
    [InlineData("pref_ftx", "0.0")]
    [InlineData("pref_loss", "sigmoid")]
    [InlineData("simpo_gamma", "0.5")]
    [InlineData("kto_chosen_weight", "1.0")]
    [InlineData("reward_model_type", "lora")]
    [InlineData("ppo_epochs", "4")]
    [InlineData("ppo_buffer_size", "1")]
    [InlineData("ppo_target", "6.0")]
    [InlineData("galore_rank", "16")]
    [InlineData("galore_update_interval", "200")]
    [InlineData("galore_scale", "2.0")]
    [InlineData("galore_proj_type", "std")]
    [InlineData("badam_mode", "layer")]
    [InlineData("badam_switch_mode", "ascending")]
    [InlineData("badam_switch_interval", "50")]
    [InlineData("badam_update_ratio", "0.05")]
    [InlineData("per_device_train_batch_size", "8")]
    [InlineData("per_device_eval_batch_size", "8")]
    [InlineData("gradient_accumulation_steps", "1")]
    [InlineData("learning_rate", "5.0e-05")]
    [InlineData("num_train_epochs", "3.0")]
    [InlineData("max_steps", "-1")]
    [InlineData("lr_scheduler_type", "linear")]
    [InlineData("warmup_ratio", "0.0")]
    [InlineData("warmup_steps", "0")]
    [InlineData("weight_decay", "0.0")]
    [InlineData("adam_beta1", "0.9")]
    [InlineData("adam_beta2", "0.999")]
    [InlineData("adam_epsilon", "1.0e-08")]
    [InlineData("max_grad_norm", "1.0")]
    [InlineData("optim", "adamw_torch")]
    [InlineData("logging_steps", "500")]
    [InlineData("save_steps", "500")]
    [InlineData("save_strategy", "steps")]
    [InlineData("eval_strategy", "no")]
    [InlineData("save_total_limit", "null")]
    [InlineData("seed", "42")]
    [InlineData("report_to", "none")]
    [InlineData("do_sample", "true")]
    [InlineData("temperature", "0.95")]
    [InlineData("top_p", "0.7")]
    [InlineData("top_k", "50")]
    [InlineData("num_beams", "1")]
    [InlineData("max_length", "1024")]
    [InlineData("max_new_tokens", "1024")]
    [InlineData("repetition_penalty", "1.0")]
    [InlineData("skip_special_tokens", "true")]
    [InlineData("infer_backend", "huggingface")]
    [InlineData("infer_dtype", "auto")]
    [InlineData("export_size", "5")]
    [InlineData("export_device", "cpu")]
    [InlineData("export_format", "hf")]
    [InlineData("device", "auto")]
    public void Defaults_are_llama_factorys(string key, string expected)
    {
        var optionKey = OptionRegistry.Get(key);
        Assert.Equal(expected, optionKey.Show(optionKey.DefaultValue));
        Assert.Equal(expected, optionKey.ShowValue(new LlamaBoardOptions()));
    }

    [Fact]
    public void Every_key_the_issue_names_is_known()
    {
        string[] named =
        [
            "model_name_or_path", "adapter_name_or_path", "template", "finetuning_type", "stage", "dataset", "dataset_dir",
            "eval_dataset", "cutoff_len", "max_samples", "val_size", "packing", "neat_packing", "train_on_prompt", "mask_history",
            "mix_strategy", "interleave_probs", "preprocessing_num_workers", "overwrite_cache", "tokenized_path", "streaming",
            "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "additional_target", "use_rslora", "use_dora", "pissa_init",
            "pissa_iter", "pissa_convert", "loraplus_lr_ratio", "loraplus_lr_embedding", "create_new_adapter",
            "freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules", "quantization_bit", "quantization_type",
            "double_quantization", "pref_beta", "pref_ftx", "pref_loss", "dpo_label_smoothing", "simpo_gamma", "kto_chosen_weight",
            "kto_rejected_weight", "ref_model", "reward_model", "reward_model_type", "ppo_buffer_size", "ppo_epochs", "ppo_score_norm",
            "ppo_target", "ppo_whiten_rewards", "use_galore", "galore_rank", "galore_update_interval", "galore_scale", "galore_target",
            "galore_proj_type", "galore_layerwise", "use_badam", "badam_mode", "badam_start_block", "badam_switch_mode",
            "badam_switch_interval", "badam_update_ratio", "output_dir", "overwrite_output_dir", "per_device_train_batch_size",
            "per_device_eval_batch_size", "gradient_accumulation_steps", "learning_rate", "num_train_epochs", "max_steps",
            "lr_scheduler_type", "warmup_ratio", "warmup_steps", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "optim",
            "max_grad_norm", "bf16", "fp16", "pure_bf16", "gradient_checkpointing", "disable_gradient_checkpointing", "logging_steps",
            "save_steps", "save_strategy", "save_total_limit", "eval_steps", "eval_strategy", "resume_from_checkpoint", "seed",
            "neftune_noise_alpha", "do_train", "do_eval", "do_predict", "predict_with_generate", "do_sample", "temperature", "top_p",
            "top_k", "num_beams", "max_new_tokens", "max_length", "repetition_penalty", "length_penalty", "default_system",
            "skip_special_tokens", "enable_thinking", "infer_backend", "export_dir", "export_size", "export_device",
            "export_legacy_format", "export_quantization_bit", "export_format", "export_gguf_type", "rope_scaling", "flash_attn",
            "infer_dtype", "trust_remote_code", "device", "report_to", "plot_loss", "ddp_timeout", "deepspeed", "fsdp", "use_unsloth",
            "vllm_maxlen", "vllm_gpu_util",
        ];
        Assert.Equal([], named.Where(n => OptionRegistry.Find(n) is null));
        Assert.Equal("it follows cutoff_len; set cutoff_len instead", OptionRegistry.DerivedKeys["model_max_length"]);
    }

    [Theory]
    [InlineData("deepspeed")]
    [InlineData("ddp_timeout")]
    [InlineData("fsdp")]
    [InlineData("flash_attn")]
    [InlineData("use_unsloth")]
    [InlineData("vllm_maxlen")]
    [InlineData("trust_remote_code")]
    [InlineData("streaming")]
    public void Unsupported_llama_factory_keys_are_known_as_ignored(string key) =>
        Assert.Equal(OptionSupport.Ignored, OptionRegistry.Get(key).Support);

    [Fact]
    public void Enum_keys_list_their_spellings()
    {
        Assert.Equal(["pt", "sft", "rm", "ppo", "dpo", "kto"], OptionRegistry.Get("stage").Type.AllowedValues);
        Assert.Equal(["lora", "freeze", "full"], OptionRegistry.Get("finetuning_type").Type.AllowedValues);
        Assert.Equal(["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"], OptionRegistry.Get("pref_loss").Type.AllowedValues);
        Assert.Equal(["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"],
            OptionRegistry.Get("lr_scheduler_type").Type.AllowedValues);
        Assert.Equal(["hf", "gguf"], OptionRegistry.Get("export_format").Type.AllowedValues);
    }

    [Fact]
    public void Supported_keys_map_to_typed_properties_and_groups()
    {
        var rank = OptionRegistry.Get("lora_rank");
        Assert.Equal("finetuning.lora", rank.Group);
        Assert.Equal(OptionSection.Method, rank.Section);
        Assert.Equal(nameof(LoraOptions.Rank), rank.Property!.Name);
        Assert.IsType<IntType>(rank.Type);
        Assert.True(OptionRegistry.Get("lora_alpha").Type.IsNullable);
        Assert.False(rank.Type.IsNullable);
        Assert.Equal("model.quantization", OptionRegistry.Get("quantization_bit").Group);

        var options = new LlamaBoardOptions();
        rank.SetValue(options, 32);
        Assert.Equal(32, options.Finetuning.Lora.Rank);
        Assert.Equal(64, options.Finetuning.Lora.EffectiveAlpha);
    }

    [Fact]
    public void Derived_values_follow_llama_factory()
    {
        var options = new LlamaBoardOptions();
        Assert.False(options.UsePacking);
        options.Finetuning.Stage = TrainingStage.Pretrain;
        Assert.True(options.UsePacking);
        options.Data.Packing = false;
        Assert.False(options.UsePacking);
        options.Data.NeatPacking = true;
        Assert.True(options.UsePacking);

        Assert.Equal(TorchSharp.torch.ScalarType.Float32, options.ComputeDType);
        options.Training.Bf16 = true;
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, options.ComputeDType);
        Assert.Equal(2048, options.ModelMaxLength);
        Assert.True(options.UseGradientCheckpointing);

        options.Finetuning.Stage = TrainingStage.Dpo;
        Assert.True(options.UsesReferenceModel);
        options.Finetuning.Preference.Loss = PreferenceLoss.Simpo;
        Assert.False(options.UsesReferenceModel);
        Assert.Equal(500, options.EffectiveEvalSteps);
    }

    [Fact]
    public void Clone_is_deep_and_equal()
    {
        var options = OptionsLoader.LoadYaml("lora_target: q_proj,v_proj\nlora_rank: 4\ndeepspeed: ds.json\n").Options;
        var copy = options.Clone();
        Assert.Equal(ConfigTestKit.Snapshot(options), ConfigTestKit.Snapshot(copy));
        copy.Finetuning.Lora.Rank = 99;
        copy.IgnoredKeys.Clear();
        Assert.Equal(4, options.Finetuning.Lora.Rank);
        Assert.True(options.IgnoredKeys.ContainsKey("deepspeed"));
    }
}
