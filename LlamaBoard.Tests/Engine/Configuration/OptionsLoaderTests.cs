using LlamaBoard.Engine.Configuration;
using static LlamaBoard.Tests.Engine.Configuration.ConfigTestKit;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Reading YAML, JSON and key=value overrides, and the messages for bad input.</summary>
public class OptionsLoaderTests
{
    [Fact]
    public void Yaml_values_get_their_types()
    {
        var loaded = OptionsLoader.LoadYaml("""
            model_name_or_path: models/demo
            adapter_name_or_path: a, b
            lora_target: [q_proj, v_proj]
            learning_rate: 1e-4
            num_train_epochs: 2
            lora_rank: 16.0
            bf16: yes
            val_size: 0.1
            interleave_probs: 0.25,0.75
            packing: null
            rope_scaling: ~
            default_system: "true"
            stage: DPO
            """);
        Assert.True(loaded.Result.IsValid, string.Join("\n", loaded.Result.Messages));
        var o = loaded.Options;
        Assert.Equal("models/demo", o.Model.ModelNameOrPath);
        Assert.Equal(["a", "b"], o.Model.AdapterNameOrPath!);
        Assert.Equal(["q_proj", "v_proj"], o.Finetuning.Lora.Target);
        Assert.Equal(1e-4, o.Training.LearningRate);
        Assert.Equal(2.0, o.Training.NumTrainEpochs);
        Assert.Equal(16, o.Finetuning.Lora.Rank);
        Assert.True(o.Training.Bf16);
        Assert.Equal(0.1, o.Data.ValSize);
        Assert.Equal([0.25, 0.75], o.Data.InterleaveProbs!);
        Assert.Null(o.Data.Packing);
        Assert.Null(o.Model.RopeScaling);
        Assert.Equal("true", o.Data.DefaultSystem);
        Assert.Equal(TrainingStage.Dpo, o.Finetuning.Stage);
    }

    [Fact]
    public void Unknown_key_suggests_the_closest_known_one()
    {
        var loaded = OptionsLoader.LoadYaml("lora_rnak: 8\nlearnig_rate: 1.0e-4\nzzz_qqq: 1\n", "cfg.yaml");
        Assert.Equal(
        [
            "lora_rnak: unknown key; did you mean lora_rank?",
            "learnig_rate: unknown key; did you mean learning_rate?",
            "zzz_qqq: unknown key; it is not a LLaMA-Factory or LlamaBoard option ('llamaboard keys' lists them all)",
        ], Texts(loaded.Result));
        Assert.All(loaded.Result.Messages, m => Assert.Equal(MessageSeverity.Error, m.Severity));
        Assert.Equal("cfg.yaml:2", loaded.Result.Messages[1].Source);
        Assert.Equal("cfg.yaml:2: learnig_rate: unknown key; did you mean learning_rate?", loaded.Result.Messages[1].ToString());
    }

    [Fact]
    public void Bad_values_name_the_key_the_value_and_what_is_allowed()
    {
        var loaded = OptionsLoader.LoadYaml("""
            stage: sftt
            lora_rank: eight
            max_samples: 3000000000
            lora_dropout: 0.1.2
            do_train: maybe
            cutoff_len: null
            lora_target: {a: 1}
            template: [a, b]
            lr_scheduler_type: cosine_with_min_lr
            """);
        Assert.Equal(
        [
            "stage: 'sftt' is not allowed; allowed values: pt, sft, rm, ppo, dpo, kto (did you mean 'sft'?)",
            "lora_rank: 'eight' is not an integer",
            "max_samples: '3000000000' is too large; the largest allowed is 2147483647",
            "lora_dropout: '0.1.2' is not a number",
            "do_train: 'maybe' is not true or false",
            "cutoff_len: null is not allowed; expected an integer",
            "lora_target: '{a: 1}' is a mapping; expected a comma-separated list",
            "template: '[a, b]' is a list; expected a single value",
            "lr_scheduler_type: 'cosine_with_min_lr' is not allowed; allowed values: linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt",
        ], Texts(loaded.Result));
        // A key with a bad value keeps its default.
        Assert.Equal(8, loaded.Options.Finetuning.Lora.Rank);
    }

    [Fact]
    public void Approximated_values_are_read_with_a_warning()
    {
        var loaded = OptionsLoader.LoadYaml("optim: paged_adamw_8bit\ninfer_backend: vllm\noptim_target: 1\n");
        Assert.Equal(OptimizerName.AdamW, loaded.Options.Training.Optim);
        Assert.Equal(InferBackend.HuggingFace, loaded.Options.Model.InferBackend);
        Assert.Equal("optim: 'paged_adamw_8bit' is read as adamw_torch: paged 8-bit optimizers need bitsandbytes; using adamw_torch",
            loaded.Result.Messages[0].Text);
        Assert.Equal(MessageSeverity.Warning, loaded.Result.Messages[0].Severity);
        Assert.StartsWith("infer_backend: 'vllm' is read as huggingface", loaded.Result.Messages[1].Text);
        // Plain synonyms are silent.
        Assert.True(OptionsLoader.LoadYaml("optim: adamw_torch_fused\n").Result.Messages.Count == 0);
    }

    [Fact]
    public void Ignored_keys_are_kept_and_reported_when_not_default()
    {
        var loaded = OptionsLoader.LoadYaml("""
            deepspeed: examples/deepspeed/ds_z3_config.json
            ddp_timeout: 1800
            use_unsloth: false
            flash_attn: fa2
            hf_hub_token: hf_secret
            vllm_config: {gpu_memory_utilization: 0.9}
            """, "lf.yaml");
        Assert.Equal(
        [
            "deepspeed: examples/deepspeed/ds_z3_config.json is ignored; LlamaBoard trains in one process on one device; distributed training (DeepSpeed, FSDP, DDP, Ray, Megatron) is not available",
            "flash_attn: fa2 is ignored; attention always runs through TorchSharp's scaled_dot_product_attention",
            "hf_hub_token: <hidden> is ignored; LlamaBoard reads local folders only and never contacts a model hub",
            "vllm_config: {gpu_memory_utilization: 0.9} is ignored; LlamaBoard generates with its own engine; vLLM, SGLang and KTransformers settings do not apply",
        ], Texts(loaded.Result));
        Assert.All(loaded.Result.Messages, m => Assert.Equal(MessageSeverity.Warning, m.Severity));
        Assert.Equal(6, loaded.Options.IgnoredKeys.Count);
        Assert.DoesNotContain(loaded.Result.Messages, m => m.Text.Contains("hf_secret", StringComparison.Ordinal));
    }

    [Fact]
    public void Renamed_and_derived_keys()
    {
        var loaded = OptionsLoader.LoadYaml("evaluation_strategy: steps\ndpo_beta: 0.2\nmodel_max_length: 4096\n");
        Assert.Equal(
        [
            "evaluation_strategy: was renamed to eval_strategy; read as eval_strategy",
            "dpo_beta: was renamed to pref_beta; read as pref_beta",
            "model_max_length: cannot be set; it follows cutoff_len; set cutoff_len instead",
        ], Texts(loaded.Result));
        Assert.Equal(IntervalStrategy.Steps, loaded.Options.Training.EvalStrategy);
        Assert.Equal(0.2, loaded.Options.Finetuning.Preference.Beta);
    }

    [Fact]
    public void Overrides_win_over_the_file()
    {
        using var folder = new TempFolder();
        string path = folder.File("cfg.yaml", "lora_rank: 8\ndataset: identity\nadapter_name_or_path: saves/a\ntemplate: qwen3\ncutoff_len: 256\n");
        var loaded = OptionsLoader.LoadFile(path,
            ["lora_rank=32", "dataset=identity,alpaca_demo", "lora_target=[q_proj, v_proj]", "adapter_name_or_path=null",
             "default_system='You are: helpful, brief'", "template=\"null\""]);
        Assert.True(loaded.Result.IsValid, string.Join("\n", loaded.Result.Messages));
        var o = loaded.Options;
        Assert.Equal(32, o.Finetuning.Lora.Rank);
        Assert.Equal(["identity", "alpaca_demo"], o.Data.Dataset!);
        Assert.Equal(["q_proj", "v_proj"], o.Finetuning.Lora.Target);
        Assert.Null(o.Model.AdapterNameOrPath);
        Assert.Equal("You are: helpful, brief", o.Data.DefaultSystem);
        Assert.Equal("null", o.Data.Template);
        Assert.Equal(OptionsLoader.CommandLine, loaded.Sources["lora_rank"]);
        Assert.Equal(path + ":5", loaded.Sources["cutoff_len"]);
    }

    [Fact]
    public void Malformed_overrides_are_errors()
    {
        var loaded = OptionsLoader.FromOverrides(["lora_rank", "=3", "lora_target=[a, b"]);
        Assert.Equal(
        [
            "'lora_rank' is not an override; write key=value, e.g. learning_rate=1.0e-4",
            "'=3' is not an override; write key=value, e.g. learning_rate=1.0e-4",
            "lora_target: '[a, b' is not a valid list; write [a, b] or a,b",
        ], Texts(loaded.Result));
        Assert.All(loaded.Result.Messages, m => Assert.Equal(OptionsLoader.CommandLine, m.Source));
    }

    [Fact]
    public void Json_reads_like_yaml()
    {
        const string yaml = "model_name_or_path: m\nlora_target: q_proj,v_proj\nlearning_rate: 1.0e-4\nbf16: true\ndeepspeed: {stage: 3}\n";
        const string json = """
            {
              // comments and trailing commas are allowed
              "model_name_or_path": "m",
              "lora_target": ["q_proj", "v_proj"],
              "learning_rate": 1.0e-4,
              "bf16": true,
              "deepspeed": {"stage": 3},
            }
            """;
        var fromYaml = OptionsLoader.LoadYaml(yaml);
        var fromJson = OptionsLoader.LoadJson(json, "cfg.json");
        Assert.Equal(Snapshot(fromYaml.Options), Snapshot(fromJson.Options));
        Assert.Equal(Texts(fromYaml.Result), Texts(fromJson.Result));
    }

    [Fact]
    public void Json_files_are_chosen_by_extension_and_duplicates_are_errors()
    {
        using var folder = new TempFolder();
        string path = folder.File("cfg.json", """{"lora_rank": 4, "lora_rank": 5}""");
        var loaded = OptionsLoader.LoadFile(path);
        Assert.Equal(["lora_rank: set twice; keep one"], Texts(loaded.Result));
        Assert.Equal(5, loaded.Options.Finetuning.Lora.Rank);
    }

    [Fact]
    public void File_problems_are_reported_with_their_place()
    {
        var missing = OptionsLoader.LoadFile("/no/such/config.yaml");
        Assert.Equal(["config file '/no/such/config.yaml' does not exist"], Texts(missing.Result));
        Assert.True(missing.FileUnreadable);

        var broken = OptionsLoader.LoadYaml("stage: sft\n  lora_rank: [8\n", "bad.yaml");
        var message = Assert.Single(broken.Result.Messages);
        Assert.StartsWith("not valid YAML: ", message.Text);
        Assert.StartsWith("bad.yaml:", message.Source);

        var duplicate = OptionsLoader.LoadYaml("lora_rank: 8\nlora_rank: 9\n", "dup.yaml");
        Assert.Contains("not valid YAML", Assert.Single(duplicate.Result.Messages).Text);

        var list = OptionsLoader.LoadYaml("- a\n- b\n", "list.yaml");
        Assert.Equal(["must hold key: value lines at the top level"], Texts(list.Result));

        using var folder = new TempFolder();
        string unreadable = Path.Combine(folder.Path, "folder.yaml");
        Directory.CreateDirectory(unreadable);
        Assert.Equal($"config file '{unreadable}' does not exist", Assert.Single(OptionsLoader.LoadFile(unreadable).Result.Messages).Text);

        Assert.True(OptionsLoader.LoadYaml("").Result.IsValid);
        Assert.True(OptionsLoader.LoadYaml("# only a comment\n").Result.IsValid);
    }

    [Fact]
    public void Apply_overrides_edits_existing_options()
    {
        var options = new LlamaBoardOptions();
        var report = OptionsLoader.ApplyOverrides(options, ["stage=kto", "kto_chosen_weight=2"]);
        Assert.True(report.IsValid);
        Assert.Equal(TrainingStage.Kto, options.Finetuning.Stage);
        Assert.Equal(2.0, options.Finetuning.Preference.KtoChosenWeight);
    }
}
