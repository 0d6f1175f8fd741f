using System.Text;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Data;
using Parquet.Schema;
using Parquet.Serialization;

namespace LlamaBoard.Tests.Reliability.Fuzzing;

/// <summary>
/// Valid seed files for the fuzz targets: the project's own demo data and examples, files our writers produce,
/// and small hand-written files in the formats' real-world shapes (transformers, PEFT, LLaMA-Factory).
/// </summary>
internal static class FuzzSeeds
{
    static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    static FuzzSeed Repo(string relative, SeedKind kind) =>
        new(relative, File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, relative)), kind);

    // ---- safetensors ----

    /// <summary>A safetensors file in bytes: header entries with consecutive offsets, then zeroed data.</summary>
    public static byte[] Safetensors(params (string Name, string DType, long[] Shape)[] tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, dtype, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * (dtype is "F32" or "I32" ? 4 : dtype is "I64" or "F64" ? 8 : 2);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        byte[] json = Utf8(header.ToJsonString());
        return [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[offset]];
    }

    public static IReadOnlyList<FuzzSeed> SafetensorsFiles() =>
    [
        new("two tensors", Safetensors(("model.embed_tokens.weight", "F32", [8, 4]), ("model.norm.weight", "BF16", [4])), SeedKind.Safetensors),
        new("scalar, empty and int", Safetensors(("step", "I64", []), ("empty", "F16", [0, 3]), ("ids", "I32", [2, 2])), SeedKind.Safetensors),
    ];

    public static IReadOnlyList<FuzzSeed> SafetensorsIndex() =>
    [
        new("index", Utf8("""
            {"metadata": {"total_size": 144},
             "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                            "model.norm.weight": "model-00002-of-00002.safetensors",
                            "lm_head.weight": "model-00002-of-00002.safetensors"}}
            """), SeedKind.Json),
    ];

    // ---- tokenizers ----

    /// <summary>The built-in byte-level tokenizer (ChatML, regex pre-tokenizer) in a temporary folder.</summary>
    public static (byte[] Tokenizer, byte[] Config) TinyTokenizerFiles()
    {
        string folder = Directory.CreateTempSubdirectory("llamaboard-fuzz-tok-").FullName;
        try
        {
            TinyTokenizer.Write(folder);
            return (File.ReadAllBytes(Path.Combine(folder, HfTokenizer.TokenizerFile)),
                    File.ReadAllBytes(Path.Combine(folder, "tokenizer_config.json")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A SentencePiece-style BPE (Llama 2's layout): Prepend/Replace normalizer, byte fallback, template.</summary>
    public static byte[] SentencePieceTokenizer()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        tokens.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        tokens.AddRange(["▁", "a", "b", "c", "▁a", "▁b", "ab", "▁ab", "北", "京"]);
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Count; i++) vocab[tokens[i]] = i;
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<unk>", ["special"] = true, ["normalized"] = false },
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true, ["normalized"] = false },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true, ["normalized"] = false }),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["vocab"] = vocab, ["merges"] = new JsonArray("▁ a", "▁ b", "a b", "▁a b"),
            },
        };
        return Utf8(root.ToJsonString());
    }

    public static byte[] SentencePieceConfig() => Utf8("""
        {"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false},
         "unk_token": "<unk>", "pad_token": null, "additional_special_tokens": ["<unk>"], "clean_up_tokenization_spaces": false,
         "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "x"}],
         "model_max_length": 4096}
        """);

    // ---- datasets ----

    /// <summary>dataset_info.json of the project's demo folder.</summary>
    public static IReadOnlyList<FuzzSeed> DatasetInfo() =>
    [
        Repo("data/dataset_info.json", SeedKind.Json),
        new("hub and extras", Utf8("""
            {"hub": {"hf_hub_url": "llamafactory/alpaca_en", "ms_hub_url": "x/y", "subset": "a", "split": "train", "num_samples": 10},
             "csv": {"file_name": "alpaca.csv", "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": null}},
             "folder": {"file_name": "parts", "formatting": "openai"}}
            """), SeedKind.Json),
    ];

    public static IReadOnlyList<FuzzSeed> DatasetJson() =>
    [
        Repo("data/alpaca_demo.json", SeedKind.Json),
        Repo("data/sharegpt_demo.json", SeedKind.Json),
        Repo("data/dpo_demo.json", SeedKind.Json),
        Repo("data/kto_demo.json", SeedKind.Json),
    ];

    /// <summary>The JSON demo files as JSON Lines.</summary>
    public static IReadOnlyList<FuzzSeed> DatasetJsonLines() =>
        [.. DatasetJson().Select(s => new FuzzSeed(s.Name + " as jsonl",
            Utf8(string.Join('\n', JsonNode.Parse(s.Data)!.AsArray().Select(r => r!.ToJsonString())) + "\n"), SeedKind.JsonLines))];

    public static IReadOnlyList<FuzzSeed> DatasetCsv() =>
    [
        new("alpaca csv", Utf8("instruction,input,output\nWhat is 2+2?,,4\n\"Say \"\"hi\"\"\",politely,\"Hello,\nfriend\"\nName a colour.,,Blue\n"), SeedKind.Text),
        new("pairwise csv", Utf8("instruction,chosen,rejected\r\nWhat is 3*3?,9,6\r\nCapital of Italy?,Rome,Milan\r\n"), SeedKind.Text),
    ];

    public static IReadOnlyList<FuzzSeed> DatasetText() => [Repo("data/pretrain_demo.txt", SeedKind.Text)];

    public static IReadOnlyList<FuzzSeed> DatasetParquet()
    {
        var flat = new ParquetSchema(new DataField<string>("instruction"), new DataField<string>("input"), new DataField<string>("output"),
                                     new DataField<int?>("score"));
        var flatRows = Enumerable.Range(0, 4).Select(i => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["instruction"] = $"question {i}", ["input"] = i % 2 == 0 ? null : "context", ["output"] = $"answer {i}", ["score"] = i,
        }).ToList();
        var nested = new ParquetSchema(
            new DataField<string>("system"),
            new ListField("conversations", new StructField("element", new DataField<string>("from"), new DataField<string>("value"))));
        var nestedRows = Enumerable.Range(0, 3).Select(i => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["system"] = i % 2 == 0 ? "Be nice." : null,
            ["conversations"] = new List<Dictionary<string, object>>
            {
                new() { ["from"] = "human", ["value"] = $"question {i}" },
                new() { ["from"] = "gpt", ["value"] = $"answer {i}" },
            },
        }).ToList();
        return [new("alpaca parquet", Parquet(flat, flatRows), SeedKind.Binary), new("sharegpt parquet", Parquet(nested, nestedRows), SeedKind.Binary)];
    }

    static byte[] Parquet(ParquetSchema schema, IReadOnlyCollection<IDictionary<string, object?>> rows)
    {
        using var stream = new MemoryStream();
        ParquetSerializer.SerializeUntypedAsync(rows, schema, stream).GetAwaiter().GetResult();
        return stream.ToArray();
    }

    // ---- configurations ----

    /// <summary>The project's example YAML files (every stage and method).</summary>
    public static IReadOnlyList<FuzzSeed> ConfigYaml() =>
    [
        .. Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "examples"), "*.yaml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal).Take(12)
            .Select(f => new FuzzSeed(Path.GetRelativePath(RepositoryPaths.Root, f), File.ReadAllBytes(f), SeedKind.Yaml)),
    ];

    public static IReadOnlyList<FuzzSeed> ConfigJson() =>
    [
        new("sft json", Utf8("""
            {"model_name_or_path": "models/demo", "stage": "sft", "do_train": true, "finetuning_type": "lora",
             "lora_target": "all", "lora_rank": 8, "dataset": "identity,alpaca_demo", "template": "qwen3", "cutoff_len": 512,
             "output_dir": "saves/x", "per_device_train_batch_size": 2, "learning_rate": 5.0e-4, "num_train_epochs": 3.0,
             "lr_scheduler_type": "cosine", "warmup_ratio": 0.1, "bf16": false, "val_size": 0.1, "eval_strategy": "steps",
             "eval_steps": 20, "max_steps": 40, "seed": 42, "report_to": "none"}
            """), SeedKind.Json),
    ];

    public static IReadOnlyList<FuzzSeed> AdapterConfig() =>
    [
        new("written here", Utf8(new PeftAdapterConfig
        {
            Rank = 8, Alpha = 16, Dropout = 0.05, TargetModules = ["q_proj", "v_proj"], ModulesToSave = ["lm_head"],
            LayersToTransform = [0, 1], UseDora = true, BaseModelNameOrPath = "models/demo",
        }.ToJson().ToJsonString()), SeedKind.Json),
        new("peft 0.13", Utf8("""
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "Qwen/Qwen2.5-0.5B", "bias": "none",
             "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": "pissa_niter_16", "layer_replication": null,
             "layers_pattern": null, "layers_to_transform": 3, "loftq_config": {}, "lora_alpha": 32, "lora_dropout": 0.1,
             "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 16,
             "rank_pattern": {}, "revision": null, "target_modules": "all-linear", "task_type": "CAUSAL_LM", "use_dora": false,
             "use_rslora": true}
            """), SeedKind.Json),
    ];

    public static IReadOnlyList<FuzzSeed> ModelConfig() =>
    [
        new("qwen3", Utf8("""
            {"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"bos_token_id":151643,"eos_token_id":151645,
             "head_dim":16,"hidden_act":"silu","hidden_size":64,"intermediate_size":128,"max_position_embeddings":512,
             "max_window_layers":2,"model_type":"qwen3","num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":2,
             "rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000.0,"sliding_window":null,"tie_word_embeddings":true,
             "torch_dtype":"float32","use_cache":true,"use_sliding_window":false,"vocab_size":512}
            """), SeedKind.Json),
        new("gemma2", Utf8("""
            {"architectures":["Gemma2ForCausalLM"],"attention_bias":false,"attn_logit_softcapping":50.0,"bos_token_id":2,
             "eos_token_id":[1,107],"final_logit_softcapping":30.0,"head_dim":16,"hidden_activation":"gelu_pytorch_tanh",
             "hidden_size":64,"intermediate_size":128,"max_position_embeddings":512,"model_type":"gemma2",
             "num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":2,"pad_token_id":0,
             "query_pre_attn_scalar":16,"rms_norm_eps":1e-06,"rope_theta":10000.0,"sliding_window":128,"vocab_size":512}
            """), SeedKind.Json),
        new("llama3 rope", Utf8("""
            {"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":2,
             "num_key_value_heads":2,"vocab_size":512,"max_position_embeddings":1024,"rms_norm_eps":1e-05,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":256,
             "rope_type":"llama3"},"rope_theta":500000.0,"tie_word_embeddings":true}
            """), SeedKind.Json),
    ];
}
