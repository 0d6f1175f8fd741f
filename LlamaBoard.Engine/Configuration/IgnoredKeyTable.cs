using System.Globalization;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// LLaMA-Factory and Hugging Face keys that LlamaBoard knows but does not act on, with LLaMA-Factory's
/// default and the reason; plus keys LLaMA-Factory renamed and keys it derives. A configuration that sets an
/// ignored key to anything but its default gets a warning naming the key and the reason, so nothing is
/// dropped silently, and the value is kept so that saving writes it back.
/// </summary>
internal static class IgnoredKeyTable
{
    const string Distributed = "LlamaBoard trains in one process on one device; distributed training (DeepSpeed, FSDP, DDP, Ray, Megatron) is not available";
    const string Kernels = "LlamaBoard computes with its own TorchSharp code; this kernel or compiler option does not apply";
    const string Hub = "LlamaBoard reads local folders only and never contacts a model hub";
    const string Trackers = "LlamaBoard records metrics in trainer_log.jsonl and on its board; external trackers are not available";
    const string Loader = "LlamaBoard's data pipeline has no such setting";
    const string Multimodal = "LlamaBoard trains text-only models";
    const string Engines = "LlamaBoard generates with its own engine; vLLM, SGLang and KTransformers settings do not apply";
    const string Profiler = "the PyTorch profiler is not available";
    const string BestModel = "keeping the best checkpoint by an evaluation metric is not available; the last checkpoint is kept";
    const string EvalLoop = "LlamaBoard's evaluation loop has no such setting";

    /// <summary>(name, section, type as LLaMA-Factory declares it, LLaMA-Factory's default (null for none), reason, secret).</summary>
    static readonly (string Name, OptionSection Section, string Type, string? Default, string Reason, bool Secret)[] Entries =
    [
        // Model arguments.
        ("adapter_folder", OptionSection.Model, "text", null, "adapters are read from the adapter_name_or_path folders", false),
        ("cache_dir", OptionSection.Model, "text", null, Hub, false),
        ("model_revision", OptionSection.Model, "text", "main", Hub, false),
        ("hf_hub_token", OptionSection.Model, "text", null, Hub, true),
        ("ms_hub_token", OptionSection.Model, "text", null, Hub, true),
        ("om_hub_token", OptionSection.Model, "text", null, Hub, true),
        ("trust_remote_code", OptionSection.Model, "boolean", "false", "LlamaBoard never runs Python code shipped with a model; model families are built in", false),
        ("use_fast_tokenizer", OptionSection.Model, "boolean", "true", "LlamaBoard always reads the fast tokenizer (tokenizer.json)", false),
        ("new_special_tokens_config", OptionSection.Model, "text", null, "initialising new special tokens from descriptions is not available; use add_special_tokens", false),
        ("init_special_tokens", OptionSection.Model, "text", "noise_init", "initialising new special tokens from descriptions is not available", false),
        ("low_cpu_mem_usage", OptionSection.Model, "boolean", "true", "LlamaBoard's loader has no such switch", false),
        ("flash_attn", OptionSection.Model, "auto | disabled | sdpa | fa2 | fa3", "auto", "attention always runs through TorchSharp's scaled_dot_product_attention", false),
        ("shift_attn", OptionSection.Model, "boolean", "false", "shift short attention (LongLoRA's S2-Attn) is not available", false),
        ("mixture_of_depths", OptionSection.Model, "convert | load", null, "mixture-of-depths is not available", false),
        ("use_unsloth", OptionSection.Model, "boolean", "false", Kernels, false),
        ("use_unsloth_gc", OptionSection.Model, "boolean", "false", Kernels, false),
        ("enable_liger_kernel", OptionSection.Model, "boolean", "false", Kernels, false),
        ("use_v1_kernels", OptionSection.Model, "boolean", "false", Kernels, false),
        ("use_reentrant_gc", OptionSection.Model, "boolean", "true", "gradient checkpointing is built on TorchSharp's autograd functions and has no reentrant variant", false),
        ("moe_aux_loss_coef", OptionSection.Model, "number", null, "the router loss of mixture-of-experts models is not available", false),
        ("offload_folder", OptionSection.Model, "text", "offload", "weights are never offloaded to disk", false),
        ("quantization_device_map", OptionSection.Model, "auto", null, "a quantized model lives on the one device in use", false),
        ("image_max_pixels", OptionSection.Model, "integer", "589824", Multimodal, false),
        ("image_min_pixels", OptionSection.Model, "integer", "1024", Multimodal, false),
        ("image_do_pan_and_scan", OptionSection.Model, "boolean", "false", Multimodal, false),
        ("crop_to_patches", OptionSection.Model, "boolean", "false", Multimodal, false),
        ("video_max_pixels", OptionSection.Model, "integer", "65536", Multimodal, false),
        ("video_min_pixels", OptionSection.Model, "integer", "256", Multimodal, false),
        ("video_fps", OptionSection.Model, "number", "2.0", Multimodal, false),
        ("video_maxlen", OptionSection.Model, "integer", "128", Multimodal, false),
        ("use_audio_in_video", OptionSection.Model, "boolean", "false", Multimodal, false),
        ("audio_sampling_rate", OptionSection.Model, "integer", "16000", Multimodal, false),
        ("vllm_maxlen", OptionSection.Model, "integer", "4096", Engines, false),
        ("vllm_gpu_util", OptionSection.Model, "number", "0.7", Engines, false),
        ("vllm_enforce_eager", OptionSection.Model, "boolean", "false", Engines, false),
        ("vllm_max_lora_rank", OptionSection.Model, "integer", "32", Engines, false),
        ("vllm_config", OptionSection.Model, "mapping", null, Engines, false),
        ("sglang_maxlen", OptionSection.Model, "integer", "4096", Engines, false),
        ("sglang_mem_fraction", OptionSection.Model, "number", "0.7", Engines, false),
        ("sglang_tp_size", OptionSection.Model, "integer", "-1", Engines, false),
        ("sglang_config", OptionSection.Model, "mapping", null, Engines, false),
        ("sglang_lora_backend", OptionSection.Model, "triton | flashinfer", "triton", Engines, false),
        ("use_kt", OptionSection.Model, "boolean", "false", Engines, false),
        ("kt_config", OptionSection.Model, "mapping", null, Engines, false),
        ("kt_weight_path", OptionSection.Model, "text", null, Engines, false),

        // Data arguments.
        ("media_dir", OptionSection.Dataset, "text", null, Multimodal, false),
        ("streaming", OptionSection.Dataset, "boolean", "false", "datasets are read in full; streaming is not available", false),
        ("buffer_size", OptionSection.Dataset, "integer", "16384", "datasets are read in full; streaming is not available", false),
        ("data_shared_file_system", OptionSection.Dataset, "boolean", "false", Distributed, false),
        ("dataloader_num_workers", OptionSection.Dataset, "integer", "0", Loader, false),
        ("dataloader_pin_memory", OptionSection.Dataset, "boolean", "true", Loader, false),
        ("dataloader_persistent_workers", OptionSection.Dataset, "boolean", "false", Loader, false),
        ("dataloader_prefetch_factor", OptionSection.Dataset, "integer", null, Loader, false),
        ("dataloader_drop_last", OptionSection.Dataset, "boolean", "false", Loader, false),
        ("remove_unused_columns", OptionSection.Dataset, "boolean", "true", Loader, false),
        ("label_names", OptionSection.Dataset, "list of text", null, Loader, false),
        ("group_by_length", OptionSection.Dataset, "boolean", "false", Loader, false),
        ("train_sampling_strategy", OptionSection.Dataset, "random | sequential | group_by_length", "random", Loader, false),
        ("length_column_name", OptionSection.Dataset, "text", "length", Loader, false),

        // Fine-tuning arguments.
        ("oft_rank", OptionSection.Method, "integer", "0", "OFT is not available; use finetuning_type lora", false),
        ("oft_block_size", OptionSection.Method, "integer", "32", "OFT is not available; use finetuning_type lora", false),
        ("oft_target", OptionSection.Method, "text", "all", "OFT is not available; use finetuning_type lora", false),
        ("module_dropout", OptionSection.Method, "number", "0.0", "OFT is not available; use finetuning_type lora", false),
        ("pref_bco_weight", OptionSection.Method, "number", "0.0", "the BCO term is not available", false),
        ("ld_alpha", OptionSection.Method, "number", null, "LD-DPO is not available", false),
        ("use_apollo", OptionSection.Method, "boolean", "false", "the APOLLO optimizer is not available; GaLore and BAdam are", false),
        ("apollo_target", OptionSection.Method, "text", "all", "the APOLLO optimizer is not available", false),
        ("apollo_rank", OptionSection.Method, "integer", "16", "the APOLLO optimizer is not available", false),
        ("apollo_update_interval", OptionSection.Method, "integer", "200", "the APOLLO optimizer is not available", false),
        ("apollo_scale", OptionSection.Method, "number", "32.0", "the APOLLO optimizer is not available", false),
        ("apollo_proj", OptionSection.Method, "svd | random", "random", "the APOLLO optimizer is not available", false),
        ("apollo_proj_type", OptionSection.Method, "std | right | left", "std", "the APOLLO optimizer is not available", false),
        ("apollo_scale_type", OptionSection.Method, "channel | tensor", "channel", "the APOLLO optimizer is not available", false),
        ("apollo_layerwise", OptionSection.Method, "boolean", "false", "the APOLLO optimizer is not available", false),
        ("apollo_scale_front", OptionSection.Method, "boolean", "false", "the APOLLO optimizer is not available", false),
        ("use_adam_mini", OptionSection.Method, "boolean", "false", "the Adam-mini optimizer is not available", false),
        ("use_muon", OptionSection.Method, "boolean", "false", "the Muon optimizer is not available", false),
        ("use_llama_pro", OptionSection.Method, "boolean", "false", "LLaMA Pro block expansion is not available", false),
        ("use_dft_loss", OptionSection.Method, "boolean", "false", "the DFT loss is not available", false),
        ("use_asft_loss", OptionSection.Method, "boolean", "false", "the ASFT loss is not available", false),
        ("asft_alpha", OptionSection.Method, "number", "0.1", "the ASFT loss is not available", false),
        ("use_eaft_loss", OptionSection.Method, "boolean", "false", "the EAFT loss is not available", false),
        ("eaft_alpha", OptionSection.Method, "number", "1.0", "the EAFT loss is not available", false),
        ("freeze_vision_tower", OptionSection.Method, "boolean", "true", Multimodal, false),
        ("freeze_multi_modal_projector", OptionSection.Method, "boolean", "true", Multimodal, false),
        ("freeze_language_model", OptionSection.Method, "boolean", "false", Multimodal, false),
        ("use_mca", OptionSection.Method, "boolean", "false", Distributed, false),
        ("use_megatron_bridge", OptionSection.Method, "boolean", "false", Distributed, false),
        ("use_hyper_parallel", OptionSection.Method, "boolean", "false", Distributed, false),
        ("hyper_parallel_args", OptionSection.Method, "text", null, Distributed, false),
        ("hyper_parallel_cp_size", OptionSection.Method, "integer", "1", Distributed, false),

        // Training arguments.
        ("deepspeed", OptionSection.Train, "text or mapping", null, Distributed, false),
        ("fsdp", OptionSection.Train, "text", null, Distributed, false),
        ("fsdp_config", OptionSection.Train, "text or mapping", null, Distributed, false),
        ("ddp_timeout", OptionSection.Train, "integer", "1800", Distributed, false),
        ("ddp_backend", OptionSection.Train, "text", null, Distributed, false),
        ("ddp_find_unused_parameters", OptionSection.Train, "boolean", null, Distributed, false),
        ("ddp_bucket_cap_mb", OptionSection.Train, "integer", null, Distributed, false),
        ("ddp_broadcast_buffers", OptionSection.Train, "boolean", null, Distributed, false),
        ("local_rank", OptionSection.Train, "integer", "-1", Distributed, false),
        ("accelerator_config", OptionSection.Train, "text or mapping", null, Distributed, false),
        ("parallelism_config", OptionSection.Train, "mapping", null, Distributed, false),
        ("ray_num_workers", OptionSection.Train, "integer", "1", Distributed, false),
        ("ray_init_kwargs", OptionSection.Train, "mapping", null, Distributed, false),
        ("master_addr", OptionSection.Train, "text", null, Distributed, false),
        ("master_port", OptionSection.Train, "text", null, Distributed, false),
        ("save_on_each_node", OptionSection.Train, "boolean", "false", Distributed, false),
        ("log_on_each_node", OptionSection.Train, "boolean", "true", Distributed, false),
        ("average_tokens_across_devices", OptionSection.Train, "boolean", "true", Distributed, false),
        ("fp8", OptionSection.Train, "boolean", "false", "FP8 training is not available; use bf16", false),
        ("fp8_backend", OptionSection.Train, "text", "auto", "FP8 training is not available; use bf16", false),
        ("fp8_enable_fsdp_float8_all_gather", OptionSection.Train, "boolean", "false", "FP8 training is not available; use bf16", false),
        ("tf32", OptionSection.Train, "boolean", null, Kernels, false),
        ("torch_compile", OptionSection.Train, "boolean", "false", Kernels, false),
        ("torch_compile_backend", OptionSection.Train, "text", null, Kernels, false),
        ("torch_compile_mode", OptionSection.Train, "text", null, Kernels, false),
        ("use_liger_kernel", OptionSection.Train, "boolean", "false", Kernels, false),
        ("liger_kernel_config", OptionSection.Train, "mapping", null, Kernels, false),
        ("bf16_full_eval", OptionSection.Train, "boolean", "false", "evaluation computes in the training dtype", false),
        ("fp16_full_eval", OptionSection.Train, "boolean", "false", "evaluation computes in the training dtype", false),
        ("torch_empty_cache_steps", OptionSection.Train, "integer", null, Kernels, false),
        ("auto_find_batch_size", OptionSection.Train, "boolean", "false", "set per_device_train_batch_size to a size that fits", false),
        ("use_cpu", OptionSection.Train, "boolean", "false", "set device: cpu instead", false),
        ("lr_scheduler_kwargs", OptionSection.Train, "mapping", null, "schedules take no options beyond lr_scheduler_type, warmup and num_train_epochs", false),
        ("optim_args", OptionSection.Train, "text", null, "optimizers take no options beyond the adam_*, weight_decay and learning_rate keys", false),
        ("optim_target_modules", OptionSection.Train, "list of text", null, "use galore_target for GaLore", false),
        ("gradient_checkpointing_kwargs", OptionSection.Train, "mapping", null, "gradient checkpointing takes no options", false),
        ("ignore_data_skip", OptionSection.Train, "boolean", "false", "resuming always continues the data order where it stopped", false),
        ("restore_callback_states_from_checkpoint", OptionSection.Train, "boolean", "false", "there are no trainer callbacks", false),
        ("full_determinism", OptionSection.Train, "boolean", "false", "TorchSharp cannot switch libtorch to deterministic algorithms", false),
        ("enable_jit_checkpoint", OptionSection.Train, "boolean", "false", "stopping with Ctrl+C or from the board already leaves a resumable checkpoint", false),
        ("save_safetensors", OptionSection.Output, "boolean", "true", "checkpoints are always safetensors", false),
        ("generation_config", OptionSection.Generate, "text or mapping", null, "use the generation keys (temperature, top_p, max_new_tokens, …)", false),
        ("sortish_sampler", OptionSection.Dataset, "boolean", "false", Loader, false),

        // Logging, trackers, hub.
        ("logging_dir", OptionSection.Output, "text", null, Trackers, false),
        ("logging_nan_inf_filter", OptionSection.Output, "boolean", "true", "non-finite losses are always logged as they are", false),
        ("include_num_input_tokens_seen", OptionSection.Output, "text", "no", "token counts are always logged", false),
        ("include_tokens_per_second", OptionSection.Output, "boolean", "false", "throughput is always logged", false),
        ("include_for_metrics", OptionSection.Output, "list of text", null, EvalLoop, false),
        ("disable_tqdm", OptionSection.Output, "boolean", null, "the command line shows its own progress display", false),
        ("log_level", OptionSection.Output, "text", "passive", "LlamaBoard has no log levels to set", false),
        ("log_level_replica", OptionSection.Output, "text", "warning", Distributed, false),
        ("skip_memory_metrics", OptionSection.Output, "boolean", "true", "memory is always reported", false),
        ("debug", OptionSection.Output, "text", "", "the Hugging Face debug options are not available", false),
        ("project", OptionSection.Output, "text", "huggingface", Trackers, false),
        ("trackio_space_id", OptionSection.Output, "text", "trackio", Trackers, false),
        ("use_swanlab", OptionSection.Output, "boolean", "false", Trackers, false),
        ("swanlab_project", OptionSection.Output, "text", "llamafactory", Trackers, false),
        ("swanlab_workspace", OptionSection.Output, "text", null, Trackers, false),
        ("swanlab_run_name", OptionSection.Output, "text", null, Trackers, false),
        ("swanlab_mode", OptionSection.Output, "cloud | local", "cloud", Trackers, false),
        ("swanlab_api_key", OptionSection.Output, "text", null, Trackers, true),
        ("swanlab_logdir", OptionSection.Output, "text", null, Trackers, false),
        ("swanlab_lark_webhook_url", OptionSection.Output, "text", null, Trackers, true),
        ("swanlab_lark_secret", OptionSection.Output, "text", null, Trackers, true),
        ("enable_torch_profiler", OptionSection.Output, "boolean", "false", Profiler, false),
        ("profiler_output_dir", OptionSection.Output, "text", null, Profiler, false),
        ("push_to_hub", OptionSection.Output, "boolean", "false", Hub, false),
        ("hub_model_id", OptionSection.Output, "text", null, Hub, false),
        ("hub_strategy", OptionSection.Output, "text", "every_save", Hub, false),
        ("hub_token", OptionSection.Output, "text", null, Hub, true),
        ("hub_private_repo", OptionSection.Output, "boolean", null, Hub, false),
        ("hub_always_push", OptionSection.Output, "boolean", "false", Hub, false),
        ("hub_revision", OptionSection.Output, "text", null, Hub, false),

        // Evaluation loop.
        ("load_best_model_at_end", OptionSection.Eval, "boolean", "false", BestModel, false),
        ("metric_for_best_model", OptionSection.Eval, "text", null, BestModel, false),
        ("greater_is_better", OptionSection.Eval, "boolean", null, BestModel, false),
        ("eval_delay", OptionSection.Eval, "number", "0", EvalLoop, false),
        ("eval_on_start", OptionSection.Eval, "boolean", "false", EvalLoop, false),
        ("eval_accumulation_steps", OptionSection.Eval, "integer", null, EvalLoop, false),
        ("eval_do_concat_batches", OptionSection.Eval, "boolean", "true", EvalLoop, false),
        ("eval_use_gather_object", OptionSection.Eval, "boolean", "false", Distributed, false),
        ("batch_eval_metrics", OptionSection.Eval, "boolean", "false", EvalLoop, false),
        ("prediction_loss_only", OptionSection.Eval, "boolean", "false", EvalLoop, false),
        ("use_legacy_prediction_loop", OptionSection.Eval, "boolean", "false", EvalLoop, false),

        // Export arguments.
        ("export_quantization_bit", OptionSection.Export, "integer", null,
            "GPTQ export is not available; for a quantized file use export_format: gguf with export_gguf_type q8_0 or q4_0", false),
        ("export_quantization_dataset", OptionSection.Export, "text", null, "GPTQ export is not available", false),
        ("export_quantization_nsamples", OptionSection.Export, "integer", "128", "GPTQ export is not available", false),
        ("export_quantization_maxlen", OptionSection.Export, "integer", "1024", "GPTQ export is not available", false),
        ("export_legacy_format", OptionSection.Export, "boolean", "false", "LlamaBoard writes safetensors only, never pickled .bin files", false),
        ("export_hub_model_id", OptionSection.Export, "text", null, Hub, false),
    ];

    /// <summary>Old names that LLaMA-Factory or Hugging Face renamed; a configuration may still use them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Renamed = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["evaluation_strategy"] = "eval_strategy",
        ["dpo_beta"] = "pref_beta",
        ["orpo_beta"] = "pref_beta",
        ["dpo_ftx"] = "pref_ftx",
        ["dpo_loss"] = "pref_loss",
        ["num_layer_trainable"] = "freeze_trainable_layers",
        ["name_module_trainable"] = "freeze_trainable_modules",
    };

    /// <summary>Keys LLaMA-Factory computes from others and does not accept; with what they follow.</summary>
    public static readonly IReadOnlyDictionary<string, string> Derived = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["model_max_length"] = "it follows cutoff_len; set cutoff_len instead",
        ["compute_dtype"] = "it follows bf16, fp16 and pure_bf16; set one of those instead",
        ["device_map"] = "set device instead (auto, cpu, cuda or cuda:N)",
        ["block_diag_attn"] = "it follows neat_packing; set neat_packing instead",
    };

    /// <summary>The ignored keys as registry entries, reading and writing <see cref="LlamaBoardOptions.IgnoredKeys"/>.</summary>
    public static IEnumerable<OptionKey> Keys => Entries.Select(entry =>
    {
        string name = entry.Name;
        return new OptionKey(name, entry.Section, "ignored", new RawType(entry.Type) { IsNullable = true },
            entry.Reason, OptionSupport.Ignored,
            o => o.IgnoredKeys.GetValueOrDefault(name),
            (o, value) =>
            {
                if (value is ConfigNode node) o.IgnoredKeys[name] = node;
                else o.IgnoredKeys.Remove(name);
            })
        {
            DefaultValue = entry.Default is null ? null : new ConfigScalar(entry.Default),
            IsSecret = entry.Secret,
        };
    });

    /// <summary>True when a raw value means the same as LLaMA-Factory's default (so ignoring it changes nothing).</summary>
    public static bool MatchesDefault(ConfigNode value, ConfigNode? defaultValue)
    {
        if (value is not ConfigScalar scalar) return false;
        if (scalar.IsNull) return defaultValue is null;
        if (defaultValue is not ConfigScalar expected) return false;
        string a = Normalize(scalar.Text), b = Normalize(expected.Text);
        if (OptionType.TryParseDouble(a, out double x) && OptionType.TryParseDouble(b, out double y)) return x == y;
        return string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
    }

    static string Normalize(string text) => text.Trim().ToLower(CultureInfo.InvariantCulture) switch
    {
        "yes" or "on" or "y" => "true",
        "no" or "off" or "n" => "false",
        var other => other,
    };
}
