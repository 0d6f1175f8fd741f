using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>Checkpoints that do not fit their config fail before any copy, naming every problem; wrappers and extras load.</summary>
public class HfModelLoaderErrorTests
{
    public HfModelLoaderErrorTests() => Torch.EnsureReady();

    static string Scaffold(TempDirectory dir, string family, string name = "model")
    {
        string folder = dir.File(name);
        ModelScaffold.Create(new ModelScaffoldOptions(family, TinyModels.Shape(family), folder)
        {
            ConfigOverrides = TinyModels.Overrides(family),
            Seed = 3,
            IncludeTinyTokenizer = false,
        });
        return folder;
    }

    /// <summary>Rewrites model.safetensors of <paramref name="folder"/> through <paramref name="edit"/>.</summary>
    static void EditWeights(string folder, Action<List<(string Name, Tensor Tensor)>> edit)
    {
        string path = Path.Combine(folder, "model.safetensors");
        var tensors = new List<(string, Tensor)>();
        using (var file = SafetensorsFile.Open(path))
            foreach (var info in file.Header.Tensors) tensors.Add((info.Name, file.Read(info.Name)));
        edit(tensors);
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    [Fact]
    public void Missing_unexpected_and_misshaped_tensors_are_all_named_in_one_error()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = Scaffold(dir, "llama");
        EditWeights(folder, tensors =>
        {
            tensors.RemoveAll(t => t.Name == "model.layers.1.mlp.up_proj.weight");
            tensors.Add(("model.layers.7.self_attn.q_proj.weight", zeros(4, 4)));
            int i = tensors.FindIndex(t => t.Name == "model.embed_tokens.weight");
            tensors[i] = (tensors[i].Name, zeros(100, 32));
        });
        var error = Assert.Throws<ModelLoadException>(() => HfModelLoader.Load(folder, device: CPU));
        Assert.Equal(["model.layers.1.mlp.up_proj.weight"], error.Missing);
        Assert.Equal(["model.layers.7.self_attn.q_proj.weight"], error.Unexpected);
        var misshaped = Assert.Single(error.Misshaped);
        Assert.Contains("model.embed_tokens.weight: [100, 32]", misshaped);
        Assert.Contains("[128, 32]", misshaped);
        Assert.Contains("missing (1): model.layers.1.mlp.up_proj.weight", error.Message);
        Assert.Contains("unexpected (1)", error.Message);
        Assert.Contains(folder, error.Message);
    }

    [Fact]
    public void A_fused_phi3_tensor_of_the_wrong_size_is_reported_under_its_checkpoint_name()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = Scaffold(dir, "phi3");
        EditWeights(folder, tensors =>
        {
            int i = tensors.FindIndex(t => t.Name == "model.layers.0.self_attn.qkv_proj.weight");
            tensors[i] = (tensors[i].Name, zeros(40, 32));
        });
        var error = Assert.Throws<ModelLoadException>(() => HfModelLoader.Load(folder, device: CPU));
        Assert.Contains("model.layers.0.self_attn.qkv_proj.weight: [40, 32]", Assert.Single(error.Misshaped));
        Assert.Contains("[64, 32]", error.Misshaped[0]); // q 32 + k 16 + v 16 rows
    }

    [Fact]
    public void Phi3_fused_tensors_are_split_into_the_separate_projections()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = Scaffold(dir, "phi3");
        using var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        var qkv = file.Read("model.layers.1.self_attn.qkv_proj.weight");
        var gateUp = file.Read("model.layers.1.mlp.gate_up_proj.weight");
        using var loaded = HfModelLoader.Load(folder, device: CPU);
        var p = loaded.Model.NamedParameters().ToDictionary(x => x.Name, x => (Tensor)x.Parameter);
        Assert.True(p["model.layers.1.self_attn.q_proj.weight"].Equals(qkv.narrow(0, 0, 32)));
        Assert.True(p["model.layers.1.self_attn.k_proj.weight"].Equals(qkv.narrow(0, 32, 16)));
        Assert.True(p["model.layers.1.self_attn.v_proj.weight"].Equals(qkv.narrow(0, 48, 16)));
        Assert.True(p["model.layers.1.mlp.gate_proj.weight"].Equals(gateUp.narrow(0, 0, 64)));
        Assert.True(p["model.layers.1.mlp.up_proj.weight"].Equals(gateUp.narrow(0, 64, 64)));
    }

    [Fact]
    public void An_unknown_model_type_lists_the_supported_ones()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"gpt_neox\", \"hidden_size\": 8}");
        var error = Assert.Throws<ModelConfigException>(() => HfModelLoader.Load(dir.Path, device: CPU));
        Assert.Contains("'gpt_neox' is not supported", error.Message);
        foreach (string type in new[] { "llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3" })
            Assert.Contains(type, error.Message);
        Assert.Equal(dir.File("config.json"), error.FilePath);
    }

    [Fact]
    public void Config_problems_name_the_file_and_key()
    {
        using var dir = new TempDirectory();
        Assert.Contains("does not exist", Assert.Throws<ModelConfigException>(() => HfModelLoader.Load(dir.Path, device: CPU)).Message);
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": \"big\"}");
        var error = Assert.Throws<ModelConfigException>(() => HfModelLoader.Load(dir.Path, device: CPU));
        Assert.Contains("\"hidden_size\" should be an integer", error.Message);
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"llama\", ");
        Assert.Contains("not valid JSON", Assert.Throws<ModelConfigException>(() => HfModelLoader.Load(dir.Path, device: CPU)).Message);
        File.WriteAllText(dir.File("config.json"), "{\"hidden_size\": 8}");
        Assert.Contains("no \"model_type\"", Assert.Throws<ModelConfigException>(() => HfModelLoader.Load(dir.Path, device: CPU)).Message);
    }

    [Fact]
    public void A_damaged_weight_file_is_a_checkpoint_error_naming_file_and_tensor()
    {
        using var dir = new TempDirectory();
        string folder = Scaffold(dir, "qwen2");
        string path = Path.Combine(folder, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var error = Assert.Throws<CheckpointFormatException>(() => HfModelLoader.Load(folder, device: CPU));
        Assert.Equal(path, error.FilePath);
        Assert.NotNull(error.TensorName);
    }

    [Fact]
    public void Rotary_buffers_and_a_stored_copy_of_a_tied_head_are_ignored()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string folder = Scaffold(dir, "gemma");
        EditWeights(folder, tensors =>
        {
            tensors.Add(("model.layers.0.self_attn.rotary_emb.inv_freq", ones(8)));
            tensors.Add(("lm_head.weight", zeros(128, 32)));
        });
        using var loaded = HfModelLoader.Load(folder, device: CPU);
        Assert.Null(loaded.Model.LmHead);
        Assert.True(loaded.Config.TieWordEmbeddings);
    }

    [Fact]
    public void A_gemma3_multimodal_folder_loads_its_text_model_and_skips_the_vision_tower()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string text = Scaffold(dir, "gemma3_text", "text");
        string wrapped = dir.File("wrapped");
        Directory.CreateDirectory(wrapped);
        var textConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(text, "config.json")))!.AsObject();
        textConfig.Remove("torch_dtype");
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Gemma3ForConditionalGeneration"),
            ["model_type"] = "gemma3",
            ["text_config"] = textConfig,
            ["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model" },
            ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(wrapped, "config.json"), config.ToJsonString());
        var tensors = new List<(string, Tensor)>();
        using (var file = SafetensorsFile.Open(Path.Combine(text, "model.safetensors")))
            foreach (var info in file.Header.Tensors)
                tensors.Add(("language_model." + info.Name, file.Read(info.Name)));
        tensors.Add(("vision_tower.vision_model.embeddings.patch_embedding.weight", ones(4, 4)));
        tensors.Add(("multi_modal_projector.mm_input_projection_weight", ones(4, 4)));
        SafetensorsLayout.Save(wrapped, tensors, maxShardBytes: 30_000);

        using var plain = HfModelLoader.Load(text, device: CPU);
        using var multimodal = HfModelLoader.Load(wrapped, device: CPU);
        Assert.Equal("gemma3_text", multimodal.Config.ModelType);
        var ids = TinyModels.Ids(1, 6);
        Assert.True(plain.Model.Forward(ids).Equals(multimodal.Model.Forward(ids)));
    }

    [Fact]
    public void Saving_a_model_whose_projections_are_still_wrapped_is_refused()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("llama");
        model.ReplaceProjection("model.layers.0.self_attn.q_proj", new ScaledProjection(model.GetProjection("model.layers.0.self_attn.q_proj"), 1.0));
        var error = Assert.Throws<InvalidOperationException>(() => HfModelSaver.Save(model, dir.Path));
        Assert.Contains("model.layers.0.self_attn.q_proj.inner.weight", error.Message);
        Assert.False(File.Exists(dir.File("model.safetensors")));
    }
}
