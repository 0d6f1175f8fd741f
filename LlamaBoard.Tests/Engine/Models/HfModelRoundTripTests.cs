using System.Text.Json.Nodes;
using LlamaBoard.Cli;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>init-model folders load; load → save → reload keeps every logit, for every family.</summary>
public class HfModelRoundTripTests
{
    public HfModelRoundTripTests() => Torch.EnsureReady();

    public static TheoryData<string> Families => TinyModels.All();

    static string InitModel(TempDirectory dir, string family, string dtype = "float32", params string[] extra)
    {
        var shape = TinyModels.Shape(family);
        string output = dir.File(family);
        string[] args =
        [
            "init-model", "--model-type", family, "--hidden-size", $"{shape.HiddenSize}", "--layers", $"{shape.Layers}",
            "--heads", $"{shape.Heads}", "--kv-heads", $"{shape.KvHeads}", "--intermediate-size", $"{shape.IntermediateSize}",
            "--vocab-size", $"{shape.VocabSize}", "--dtype", dtype, "--seed", "5", "--output", output,
            .. shape.HeadDim is { } headDim ? new[] { "--head-dim", $"{headDim}" } : [],
            .. TinyModels.Overrides(family).Select(p => $"--set={p.Key}={p.Value!.ToJsonString()}").SelectMany(s => new[] { s }),
            .. extra,
        ];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        Assert.True(code == ExitCodes.Success, $"init-model failed ({code}): {stderr}");
        Assert.Contains($"random {family} model", stdout.ToString());
        return output;
    }

    [Fact]
    public void Without_a_tokenizer_folder_init_model_writes_the_built_in_tokenizer_and_matches_its_ids()
    {
        using var dir = new TempDirectory();
        string folder = InitModel(dir, "qwen3");
        var tokenizer = LlamaBoard.Engine.Tokenization.HfTokenizer.Load(folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        Assert.Equal(tokenizer.VocabSize, config["vocab_size"]!.GetValue<int>());
        Assert.Equal(tokenizer.EosTokenId, config["eos_token_id"]!.GetValue<int>());
        Assert.Equal(tokenizer.PadTokenId, config["pad_token_id"]!.GetValue<int>());
        Assert.NotNull(tokenizer.ChatTemplate);
        Assert.Equal("héllo 世界", tokenizer.Decode(tokenizer.Encode("héllo 世界")));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void An_init_model_folder_loads_with_transformers_names_and_the_requested_config(string family)
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = InitModel(dir, family);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        Assert.Equal(family, json["model_type"]!.GetValue<string>());
        Assert.Equal("float32", json["torch_dtype"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(folder, "generation_config.json")));

        using var loaded = HfModelLoader.Load(folder, device: CPU);
        var expected = TinyModels.Config(family);
        Assert.Equal(expected.HiddenSize, loaded.Config.HiddenSize);
        Assert.Equal(expected.HeadDim, loaded.Config.HeadDim);
        Assert.Equal(expected.NumKvHeads, loaded.Config.NumKvHeads);
        Assert.Equal(expected.LayerTypes, loaded.Config.LayerTypes);
        Assert.Equal(expected.Rope with { }, loaded.Config.Rope with { }, new RopeComparer());
        Assert.Equal(ScalarType.Float32, loaded.Model.DType);

        using var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        var names = file.Header.Tensors.Select(t => t.Name).ToHashSet();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Equal(!expected.TieWordEmbeddings, names.Contains("lm_head.weight"));
        if (family == "phi3")
        {
            Assert.Contains("model.layers.0.self_attn.qkv_proj.weight", names);
            Assert.Contains("model.layers.0.mlp.gate_up_proj.weight", names);
            Assert.DoesNotContain("model.layers.0.self_attn.q_proj.weight", names);
        }
        else
        {
            Assert.Contains("model.layers.1.self_attn.q_proj.weight", names);
            Assert.Contains("model.layers.1.mlp.gate_proj.weight", names);
        }
        var logits = loaded.Model.Forward(TinyModels.Ids(1, 6));
        Assert.False(logits.isnan().any().item<bool>());
    }

    sealed class RopeComparer : IEqualityComparer<RopeSettings>
    {
        public bool Equals(RopeSettings? a, RopeSettings? b) =>
            a!.Type == b!.Type && a.Theta == b.Theta && a.Dim == b.Dim && a.Factor == b.Factor
            && a.OriginalMaxPositionEmbeddings == b.OriginalMaxPositionEmbeddings;
        public int GetHashCode(RopeSettings r) => r.Type.GetHashCode(StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Load_save_reload_gives_identical_logits_through_sharded_files(string family)
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = InitModel(dir, family);
        var ids = TinyModels.Ids(2, 7);
        string saved = dir.File("saved");
        Tensor before;
        using (var loaded = HfModelLoader.Load(folder, device: CPU))
        {
            before = loaded.Model.Forward(ids);
            var files = HfModelSaver.Save(loaded.Model, saved, maxShardBytes: 20_000, generation: loaded.Generation);
            Assert.Contains(files, f => f.EndsWith("model.safetensors.index.json", StringComparison.Ordinal));
        }
        using var reloaded = HfModelLoader.Load(saved, device: CPU);
        Assert.True(before.Equals(reloaded.Model.Forward(ids)), $"{family}: logits changed after save and reload");
        // The saved config is the original one, byte for byte (same family keys, same values, sorted).
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "config.json")), File.ReadAllText(Path.Combine(saved, "config.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "generation_config.json")),
                     File.ReadAllText(Path.Combine(saved, "generation_config.json")));
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("gemma2")]
    [InlineData("phi3")]
    public void A_bf16_checkpoint_loads_in_bf16_or_fp32_and_saves_back_bit_exactly(string family)
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = InitModel(dir, family, dtype: "bf16");
        var ids = TinyModels.Ids(1, 5);
        using var asBf16 = HfModelLoader.Load(folder, device: CPU);
        Assert.Equal(ScalarType.BFloat16, asBf16.Model.DType);
        using var asFp32 = HfModelLoader.Load(folder, ScalarType.Float32, CPU);
        Assert.Equal(ScalarType.Float32, asFp32.Model.DType);
        foreach (var ((name, a), (_, b)) in asBf16.Model.NamedParameters().Zip(asFp32.Model.NamedParameters()))
            Assert.True(a.to_type(ScalarType.Float32).Equals(b), name);

        string saved = dir.File("from-fp32");
        HfModelSaver.Save(asFp32.Model, saved, ScalarType.BFloat16);
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder, "model.safetensors")), File.ReadAllBytes(Path.Combine(saved, "model.safetensors")));
        using var again = HfModelLoader.Load(saved, device: CPU);
        Assert.True(asBf16.Model.Forward(ids).Equals(again.Model.Forward(ids)));
    }

    [Fact]
    public void A_tokenizer_folder_is_copied_and_sets_vocab_size_and_special_ids()
    {
        using var dir = new TempDirectory();
        string tokenizer = dir.File("tok");
        Directory.CreateDirectory(tokenizer);
        var vocab = new JsonObject();
        for (int i = 0; i < 600; i++) vocab[$"t{i}"] = i;
        var tokenizerJson = new JsonObject
        {
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 600, ["content"] = "<|endoftext|>", ["special"] = true },
                new JsonObject { ["id"] = 601, ["content"] = "<|im_end|>", ["special"] = true }),
        };
        File.WriteAllText(Path.Combine(tokenizer, "tokenizer.json"), tokenizerJson.ToJsonString());
        File.WriteAllText(Path.Combine(tokenizer, "tokenizer_config.json"),
                          "{\"eos_token\": \"<|im_end|>\", \"pad_token\": {\"content\": \"<|endoftext|>\"}, \"bos_token\": null}");
        File.WriteAllText(Path.Combine(tokenizer, "special_tokens_map.json"), "{}");

        string folder = InitModel(dir, "qwen2", extra: ["--tokenizer", tokenizer]);
        foreach (string name in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
            Assert.Equal(File.ReadAllText(Path.Combine(tokenizer, name)), File.ReadAllText(Path.Combine(folder, name)));
        var config = HfModelLoader.ReadConfig(folder);
        Assert.Equal(602, config.VocabSize);
        Assert.Equal([601], config.EosTokenIds);
        Assert.Equal(600, config.PadTokenId);
    }

    [Fact]
    public void Init_model_rejects_bad_arguments_with_a_usage_error()
    {
        using var dir = new TempDirectory();
        var stderr = new StringWriter();
        int code = CliApp.Run(["init-model", "--model-type", "gpt2", "--hidden-size", "32", "--layers", "1", "--heads", "4",
                               "--kv-heads", "4", "--intermediate-size", "64", "--output", dir.File("x")], new StringWriter(), stderr);
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("gpt2", stderr.ToString());
        Assert.Contains("qwen3", stderr.ToString());

        stderr = new StringWriter();
        code = CliApp.Run(["init-model", "--model-type", "llama", "--hidden-size", "32", "--layers", "1", "--heads", "4",
                           "--kv-heads", "3", "--intermediate-size", "64", "--output", dir.File("y")], new StringWriter(), stderr);
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("num_key_value_heads", stderr.ToString());
    }
}
