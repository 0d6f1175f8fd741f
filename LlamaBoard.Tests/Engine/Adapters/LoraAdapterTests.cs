using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Adapters;

/// <summary>LoRA on a real decoder: targets, PEFT files, merging, disabling, PiSSA.</summary>
public class LoraAdapterTests
{
    public LoraAdapterTests() => Torch.EnsureReady();

    static void Perturb(DecoderModel model, ulong seed = 9)
    {
        using var _ = no_grad();
        using var generator = new Generator(seed);
        foreach (var (_, layer) in LoraAdapter.Layers(model))
        {
            layer.LoraB.copy_(empty(layer.LoraB.shape).normal_(0, 0.2, generator));
            layer.Magnitude?.mul_(empty(layer.Magnitude.shape).uniform_(0.8, 1.2, generator));
        }
    }

    [Fact]
    public void All_targets_every_linear_layer_but_the_head_and_names_resolve_by_suffix()
    {
        using var model = TinyModels.Create("llama");
        var all = AdapterTargets.Resolve(model, ["all"]);
        Assert.Equal(2 * 7, all.Count);
        Assert.DoesNotContain("lm_head", all);
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
                     AdapterTargets.Resolve(model, ["v_proj", "q_proj"]));
        Assert.Equal(["model.layers.1.mlp.down_proj"], AdapterTargets.Resolve(model, ["down_proj"], layers: [1]));
        var error = Assert.Throws<ArgumentException>(() => AdapterTargets.Resolve(model, ["qkv_proj"]));
        Assert.Contains("'qkv_proj'", error.Message);
        Assert.Contains("gate_proj", error.Message);
        Assert.Equal(["q_proj", "v_proj"], AdapterTargets.ShortNames(AdapterTargets.Resolve(model, ["q_proj", "v_proj"])));
    }

    [Theory]
    [InlineData("qwen2", false)]
    [InlineData("phi3", false)]
    [InlineData("gemma2", true)]
    public void Saved_adapters_reload_onto_a_fresh_base_with_identical_logits(string family, bool dora)
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var ids = TinyModels.Ids(2, 9);
        using var trained = TinyModels.Create(family);
        var targets = AdapterTargets.Resolve(trained, ["all"]);
        LoraAdapter.Attach(trained, new LoraSettings(4, 8, UseDora: dora), targets);
        Perturb(trained);
        var expected = trained.Forward(ids);
        var config = new PeftAdapterConfig { Rank = 4, Alpha = 8, UseDora = dora, TargetModules = AdapterTargets.ShortNames(targets), BaseModelNameOrPath = "tiny" };
        PeftAdapterFiles.Save(trained, dir.Path, config);

        using var fresh = TinyModels.Create(family);
        var before = fresh.Forward(ids);
        Assert.False(before.allclose(expected, rtol: 1e-3, atol: 1e-3), "the adapter must change the logits");
        var loaded = PeftAdapterFiles.Load(fresh, dir.Path);
        Assert.Equal(dora, loaded.UseDora);
        TinyModels.Close(expected, fresh.Forward(ids), 1e-5, "reloaded adapter");

        using (LoraAdapter.Disabled(fresh))
            TinyModels.Close(before, fresh.Forward(ids), 1e-5, "disabled adapter = base");
        LoraAdapter.MergeAll(fresh);
        Assert.Empty(LoraAdapter.Layers(fresh));
        TinyModels.Close(expected, fresh.Forward(ids), 1e-4, "merged adapter");
    }

    [Fact]
    public void Adapter_file_uses_peft_key_names_and_config_fields()
    {
        using var dir = new TempDirectory();
        using var model = TinyModels.Create("qwen3");
        LoraAdapter.Attach(model, new LoraSettings(2, 4, UseDora: true), AdapterTargets.Resolve(model, ["q_proj"]));
        PeftAdapterFiles.Save(model, dir.Path, new PeftAdapterConfig { Rank = 2, Alpha = 4, UseDora = true, TargetModules = ["q_proj"], ModulesToSave = ["embed_tokens"] });

        var header = LlamaBoard.Engine.Checkpoints.SafetensorsHeader.Read(Path.Combine(dir.Path, "adapter_model.safetensors"));
        Assert.Equal(
            ["base_model.model.model.embed_tokens.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector",
             "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
             "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
             "base_model.model.model.layers.1.self_attn.q_proj.lora_magnitude_vector"],
            header.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal([2L, 32L], header.Tensors.Single(t => t.Name.EndsWith("0.self_attn.q_proj.lora_A.weight")).Shape);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!.AsObject();
        Assert.Equal("LORA", (string)json["peft_type"]!);
        Assert.Equal("CAUSAL_LM", (string)json["task_type"]!);
        Assert.Equal(2, (int)json["r"]!);
        Assert.True((bool)json["use_dora"]!);
        Assert.Equal("embed_tokens", (string)json["modules_to_save"]![0]!);
    }

    [Fact]
    public void An_adapter_for_another_base_is_refused_with_the_tensor_names()
    {
        using var dir = new TempDirectory();
        using var big = TinyModels.Create(TinyModels.Config("llama") with { HiddenSize = 64 });
        LoraAdapter.Attach(big, new LoraSettings(2, 4), AdapterTargets.Resolve(big, ["q_proj"]));
        PeftAdapterFiles.Save(big, dir.Path, new PeftAdapterConfig { Rank = 2, Alpha = 4, TargetModules = ["q_proj"] });
        using var small = TinyModels.Create("llama");
        var error = Assert.Throws<InvalidDataException>(() => PeftAdapterFiles.Load(small, dir.Path));
        Assert.Contains("mis-shaped", error.Message);
        Assert.Contains("q_proj.lora_A.weight", error.Message);
        Assert.Contains("trained on this base model", error.Message);
    }

    [Fact]
    public void Pissa_keeps_the_output_at_init_and_converts_to_a_plain_lora_of_twice_the_rank()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        var ids = TinyModels.Ids(1, 7);
        using var model = TinyModels.Create("llama");
        var original = model.Forward(ids);
        var targets = AdapterTargets.Resolve(model, ["all"]);
        var layers = LoraAdapter.Attach(model, new LoraSettings(4, 8), targets);
        foreach (var layer in layers) layer.InitializePissa(iterations: 4, seed: PeftAdapterFiles.PissaSeed);
        TinyModels.Close(original, model.Forward(ids), 1e-4, "PiSSA init leaves the function unchanged");
        var config = new PeftAdapterConfig { Rank = 4, Alpha = 8, TargetModules = AdapterTargets.ShortNames(targets), InitLoraWeights = PissaConversion.InitValue(4) };
        var initial = PeftAdapterFiles.StateDict(model, []).ToDictionary(t => t.Name, t => t.Tensor.clone());

        // "Train": move A and B.
        using (no_grad())
            foreach (var layer in layers) { layer.LoraA.mul_(1.1); layer.LoraB.add_(0.01); }
        var tuned = model.Forward(ids);
        PeftAdapterFiles.Save(model, Path.Combine(dir.Path, "pissa"), config);

        // The PiSSA adapter reloads onto the original base (the loader recreates the residual)...
        using (var again = TinyModels.Create("llama"))
        {
            PeftAdapterFiles.Load(again, Path.Combine(dir.Path, "pissa"));
            TinyModels.Close(tuned, again.Forward(ids), 1e-4, "PiSSA adapter on the original base");
        }
        // ...and converts into a rank-8 LoRA for the untouched base.
        var (convertedConfig, convertedTensors) = PissaConversion.Convert(config, PeftAdapterFiles.StateDict(model, []), initial);
        Assert.Equal(8, convertedConfig.Rank);
        Assert.Equal(16, convertedConfig.Alpha);
        PeftAdapterFiles.Save(Path.Combine(dir.Path, "converted"), convertedConfig, convertedTensors);
        using var plain = TinyModels.Create("llama");
        PeftAdapterFiles.Load(plain, Path.Combine(dir.Path, "converted"));
        TinyModels.Close(tuned, plain.Forward(ids), 1e-4, "converted LoRA on the original base");
    }
}
