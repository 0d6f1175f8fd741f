using LlamaBoard.Engine.Adapters;
using LlamaBoard.Tests.Engine.Models;

namespace LlamaBoard.Tests.Engine.Adapters;

/// <summary>Freeze tuning selects layers and modules as LLaMA-Factory does.</summary>
public class FreezeTuningTests
{
    public FreezeTuningTests() => Torch.EnsureReady();

    [Fact]
    public void Last_n_layers_with_all_modules_plus_extra_modules()
    {
        using var model = TinyModels.Create("gemma2"); // 3 layers
        var trainable = FreezeTuning.Apply(model, 1, ["all"], ["norm"]);
        Assert.All(trainable, n => Assert.True(n.StartsWith("model.layers.2.") || n == "model.norm.weight", n));
        Assert.Contains("model.layers.2.mlp.down_proj.weight", trainable);
        Assert.Contains("model.layers.2.post_feedforward_layernorm.weight", trainable);
        Assert.Contains("model.norm.weight", trainable);
        Assert.DoesNotContain("model.layers.1.mlp.down_proj.weight", trainable);
        Assert.Equal(trainable.Count, model.NamedParameters().Count(p => p.Parameter.requires_grad));
    }

    [Fact]
    public void First_n_layers_and_chosen_modules_only()
    {
        using var model = TinyModels.Create("llama");
        var trainable = FreezeTuning.Apply(model, -1, ["mlp"], []);
        Assert.Equal(["model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight"], trainable);
    }

    [Fact]
    public void Unknown_modules_name_the_valid_choices()
    {
        using var model = TinyModels.Create("llama");
        var error = Assert.Throws<ArgumentException>(() => FreezeTuning.Apply(model, 1, ["attention"], []));
        Assert.Contains("self_attn", error.Message);
        var extra = Assert.Throws<ArgumentException>(() => FreezeTuning.Apply(model, 1, ["all"], ["wte"]));
        Assert.Contains("embed_tokens", extra.Message);
    }
}
