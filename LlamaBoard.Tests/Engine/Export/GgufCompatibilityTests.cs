using System.Text.Json.Nodes;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// What cannot be written as GGUF is refused with every reason named; what llama.cpp only approximates past a
/// length is allowed with a warning.
/// </summary>
public class GgufCompatibilityTests
{
    static ModelConfig Config(string family, JsonObject? overrides = null, ModelShape? shape = null)
    {
        var json = TinyModels.Overrides(family);
        foreach (var (k, v) in overrides ?? []) json[k] = v?.DeepClone();
        return ModelConfigFactory.NewConfig(family, shape ?? TinyModels.Shape(family), json);
    }

    static GgufExportException Refused(ModelConfig config) =>
        Assert.Throws<GgufExportException>(() => GgufCompatibility.Check(config, GgufArchitectures.For(config.ModelType)));

    [Theory]
    [InlineData("llama", "llama")]
    [InlineData("mistral", "llama")]
    [InlineData("qwen2", "qwen2")]
    [InlineData("qwen3", "qwen3")]
    [InlineData("gemma", "gemma")]
    [InlineData("gemma2", "gemma2")]
    [InlineData("gemma3_text", "gemma3")]
    [InlineData("gemma3", "gemma3")]
    [InlineData("phi3", "phi3")]
    public void Every_supported_family_has_its_llama_cpp_architecture(string modelType, string architecture)
    {
        Assert.Equal(architecture, GgufArchitectures.For(modelType).Name);
        Assert.All(ModelFamilies.SupportedTypes, t => Assert.Contains(t, GgufArchitectures.SupportedModelTypes));
    }

    [Fact]
    public void An_unknown_model_type_names_the_supported_ones()
    {
        var e = Assert.Throws<NotSupportedException>(() => GgufArchitectures.For("gpt_neox"));
        Assert.Contains("model_type 'gpt_neox'", e.Message);
        Assert.Contains("llama, mistral, qwen2", e.Message);
        Assert.Contains("export_format: hf", e.Message);
    }

    [Fact]
    public void The_tiny_configs_of_the_cross_check_are_accepted()
    {
        foreach (var c in GgufModels.Cases)
        {
            var json = c.Overrides.DeepClone().AsObject();
            var config = ModelConfigFactory.NewConfig(c.Family, c.Shape with { VocabSize = 1000 }, json);
            Assert.Empty(GgufCompatibility.Check(config, GgufArchitectures.For(c.Family)));
        }
    }

    [Fact]
    public void Features_the_graph_lacks_or_always_applies_are_each_named()
    {
        var e = Refused(Config("qwen3", new() { ["attention_bias"] = true }));
        Assert.Contains("llama.cpp's 'qwen3' architecture", e.Message);
        Assert.Contains("bias on the q/k/v projections, which llama.cpp's 'qwen3' graph does not implement", e.Message);
        Assert.Contains("bias on o_proj", e.Message);

        e = Refused(Config("qwen2") with { QkvBias = false });
        Assert.Contains("llama.cpp's 'qwen2' graph always applies bias on the q/k/v projections", e.Message);

        e = Refused(Config("llama", new() { ["hidden_act"] = "gelu" }));
        Assert.Contains("the MLP activation is 'gelu'", e.Message);

        e = Refused(Config("gemma", new() { ["hidden_activation"] = "gelu" }));
        Assert.Contains("gelu_pytorch_tanh", e.Message);

        e = Refused(Config("phi3", shape: new ModelShape(32, 2, 4, 2, 64, 128, HeadDim: 16)));
        Assert.Contains("num_attention_heads × head_dim different from hidden_size", e.Message);
    }

    [Fact]
    public void Gemma_2_attention_scale_and_layer_pattern_must_be_llama_cpps()
    {
        var e = Refused(Config("gemma2", new() { ["query_pre_attn_scalar"] = 100 }));
        Assert.Contains("the attention scale is 0.1 (query_pre_attn_scalar)", e.Message);
        Assert.Contains("uses 0.353553", e.Message);

        e = Refused(Config("gemma2", new() { ["layer_types"] = new JsonArray("full_attention", "sliding_attention", "full_attention") }));
        Assert.Contains("every layer but each second a sliding-window layer; this model's layers are full, sliding, full", e.Message);

        e = Refused(Config("gemma2", new() { ["final_logit_softcapping"] = null }));
        Assert.Contains("always applies final logit soft-capping", e.Message);
    }

    [Fact]
    public void Gemma_3_needs_a_regular_local_global_pattern()
    {
        var config = Config("gemma3_text", new() { ["layer_types"] = new JsonArray("full_attention", "sliding_attention", "sliding_attention") });
        var e = Refused(config);
        Assert.Contains("no N gives this model's layers (full, sliding, sliding)", e.Message);

        config = Config("gemma3_text", new() { ["sliding_window_pattern"] = 3 });
        Assert.Empty(GgufCompatibility.Check(config, GgufArchitectures.Gemma3));
        Assert.Equal(3, GgufCompatibility.SlidingPattern(config));
    }

    [Fact]
    public void RoPE_variants_without_a_GGUF_form_are_refused_and_dynamic_scaling_warns()
    {
        var e = Refused(Config("qwen3", new() { ["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0,
            ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 64 } }));
        Assert.Contains("rope_scaling type 'llama3' cannot be expressed for llama.cpp's 'qwen3' graph (it supports default, linear, yarn)", e.Message);

        e = Refused(Config("qwen2", new() { ["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0, ["attention_factor"] = 0.9 } }));
        Assert.Contains("attention_factor", e.Message);

        var warnings = GgufCompatibility.Check(Config("llama", new() { ["rope_scaling"] = new JsonObject { ["rope_type"] = "dynamic", ["factor"] = 2.0 } }),
                                               GgufArchitectures.Llama);
        Assert.Contains(warnings, w => w.Contains("no dynamic NTK RoPE scaling", StringComparison.Ordinal) && w.Contains("512 tokens", StringComparison.Ordinal));
    }

    [Fact]
    public void A_sliding_window_llama_cpp_ignores_is_a_warning_naming_the_window()
    {
        var warnings = GgufCompatibility.Check(Config("mistral"), GgufArchitectures.Llama);
        var warning = Assert.Single(warnings);
        Assert.Contains("llama.cpp's 'llama' graph has no sliding window", warning);
        Assert.Contains("(3 tokens)", warning);
    }

    [Fact]
    public void Several_problems_are_reported_together()
    {
        var e = Refused(Config("gemma2", new() { ["query_pre_attn_scalar"] = 100, ["attention_bias"] = true }));
        Assert.Contains("attention scale", e.Message);
        Assert.Contains("bias on the q/k/v projections", e.Message);
        Assert.Equal(4, e.Message.Split("\n  - ").Length); // header + three problems (q/k/v bias, o_proj bias, scale)
    }

    [Fact]
    public void An_unknown_tensor_type_is_named()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir);
        using var loaded = HfModelLoader.Load(model, ScalarType.Float32, CPU);
        var e = Assert.Throws<GgufExportException>(() => GgufExporter.Export(loaded.Model, model, dir.Path, (GgmlType)99, "x"));
        Assert.Contains("GGUF tensor type 99", e.Message);
        Assert.Contains("F32, F16, Q4_0, Q8_0, BF16", e.Message);
    }

    [Fact]
    public void Matrices_whose_rows_do_not_fill_32_value_blocks_are_stored_as_F16_with_a_note()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create(Config("qwen3", shape: new ModelShape(48, 1, 4, 2, 80, 64, HeadDim: 16)));
        var notes = new List<string>();
        var tensors = GgufModelLayout.Tensors(model, GgufArchitectures.Qwen3, GgmlType.Q8_0, notes);
        Assert.Equal(GgmlType.F16, tensors.Single(t => t.Name == "blk.0.ffn_down.weight").Type);    // rows of 80
        Assert.Equal(GgmlType.F16, tensors.Single(t => t.Name == "blk.0.attn_q.weight").Type);      // rows of 48
        Assert.Equal(GgmlType.F32, tensors.Single(t => t.Name == "blk.0.attn_q_norm.weight").Type);
        Assert.Contains(notes, n => n.StartsWith("blk.0.ffn_down.weight: rows of 80 values", StringComparison.Ordinal));
    }
}
