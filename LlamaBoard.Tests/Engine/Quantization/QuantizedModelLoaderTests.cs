using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>Loading with quantization_bit: which layers are quantized, what they compute, what memory they take.</summary>
public class QuantizedModelLoaderTests
{
    public QuantizedModelLoaderTests() => Torch.EnsureReady();

    [Theory]
    [InlineData("qwen2", 4)]   // q/k/v biases
    [InlineData("phi3", 4)]    // fused qkv and gate_up in the checkpoint
    [InlineData("llama", 8)]
    public void Decoder_projections_are_quantized_and_the_logits_stay_close(string family, int bits)
    {
        using var dir = new TempDirectory();
        // Hidden 64 so that rows are whole 64-value blocks, as in real models.
        var shape = new ModelShape(64, 2, 4, 2, 128, 256);
        ModelScaffold.Create(new ModelScaffoldOptions(family, shape, dir.Path) { Seed = 9, IncludeTinyTokenizer = false });
        using var full = HfModelLoader.Load(dir.Path, ScalarType.Float32, CPU);
        using var quantized = QuantizedModelLoader.Load(dir.Path, new QuantizationSettings(bits), ScalarType.Float32, CPU);
        var model = quantized.Model;

        var projections = model.NamedProjections().ToList();
        Assert.All(projections.Where(p => p.Name != "lm_head"), p => Assert.IsType<QuantizedLinear>(p.Module));
        Assert.All(projections.Where(p => p.Name == "lm_head"), p => Assert.IsType<Linear>(p.Module));
        Assert.Equal(14, QuantizedModelLoader.QuantizedLayers(model).Count());
        if (family == "qwen2")
            Assert.NotNull(((QuantizedLinear)model.GetProjection("model.layers.1.self_attn.k_proj")).Bias);

        using var scope = NewDisposeScope();
        var ids = tensor(new long[,] { { 1, 5, 9, 200, 17, 3, 99, 42 } });
        var expected = full.Model.Forward(ids);
        var got = model.Forward(ids);
        double relative = ((got - expected).pow(2).mean().sqrt() / expected.pow(2).mean().sqrt()).item<float>();
        Console.WriteLine($"{family} {bits}-bit: relative logit error {relative:0.0000}");
        Assert.True(relative < (bits == 4 ? 0.2 : 0.02), $"relative logit error {relative}");

        // Codes and scales only: the small code-book tables (≈1 KiB a layer) do not grow with the model.
        long projectionBytes = projections.Where(p => p.Name != "lm_head")
            .Sum(p => ((QuantizedLinear)p.Module).Weight.StorageBytes - (bits == 4 ? (16 + 256) * 4 : 0));
        long denseBytes = full.Model.NamedProjections().Where(p => p.Name != "lm_head")
            .Sum(p => ((Linear)p.Module).weight!.numel() * 4L);
        Assert.True(projectionBytes < denseBytes / (bits == 4 ? 6 : 3), $"{projectionBytes} vs fp32 {denseBytes}");
    }

    [Fact]
    public void A_peft_adapter_loads_onto_the_quantized_model()
    {
        using var dir = new TempDirectory();
        var shape = new ModelShape(64, 2, 4, 2, 128, 256);
        ModelScaffold.Create(new ModelScaffoldOptions("qwen3", shape, dir.File("model")) { Seed = 10, IncludeTinyTokenizer = false });
        using var full = HfModelLoader.Load(dir.File("model"), ScalarType.Float32, CPU);
        LoraAdapter.Attach(full.Model, new LoraSettings(4, 8), AdapterTargets.Resolve(full.Model, ["all"]));
        using (no_grad())
            foreach (var (_, layer) in LoraAdapter.Layers(full.Model)) layer.LoraB.normal_(0, 0.05);
        PeftAdapterFiles.Save(full.Model, dir.File("adapter"), new PeftAdapterConfig { Rank = 4, Alpha = 8, TargetModules = ["all"] });

        using var quantized = QuantizedModelLoader.Load(dir.File("model"), new QuantizationSettings(4), ScalarType.Float32, CPU);
        PeftAdapterFiles.Load(quantized.Model, dir.File("adapter"));
        var layers = LoraAdapter.Layers(quantized.Model).ToList();
        Assert.Equal(14, layers.Count);
        Assert.All(layers, l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        var e = Assert.Throws<NotSupportedException>(() => LoraAdapter.MergeAll(quantized.Model));
        Assert.Contains("unquantized", e.Message);
    }
}
