using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Engine.Training;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>
/// <see cref="MemoryEstimator"/>: the parameter inventory and the weight bytes agree with models actually built and
/// quantized, and the methods rank as the QLoRA/GaLore papers report. (The estimate against measured peaks is
/// <c>llamaboard bench memory</c>'s job: resident memory on a shared machine is too noisy for a unit test.)
/// </summary>
public class MemoryEstimatorTests
{
    public MemoryEstimatorTests() => Torch.EnsureReady();

    [Theory]
    [InlineData("qwen2")]   // q/k/v biases, untied head
    [InlineData("qwen3")]   // q/k norms
    [InlineData("gemma3_text")]  // sandwich norms, tied embeddings
    public void The_inventory_lists_exactly_the_parameters_of_the_built_model(string family)
    {
        using var dir = new TempDirectory();
        ModelScaffold.Create(new ModelScaffoldOptions(family, new ModelShape(64, 2, 4, 2, 128, 256, HeadDim: 16), dir.Path) { Seed = 3, IncludeTinyTokenizer = false });
        using var loaded = HfModelLoader.Load(dir.Path, ScalarType.Float32, CPU);
        var built = loaded.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.shape);
        var inventory = ParameterInventory.Of(loaded.Config);
        Assert.Equal(built.Keys.Order(StringComparer.Ordinal), inventory.Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var p in inventory)
            Assert.Equal(p.Columns == 1 ? p.Rows : p.Rows * p.Columns, built[p.Name].Aggregate(1L, (a, b) => a * b));
        Assert.Equal(loaded.Model.ParameterCount, inventory.Sum(p => p.Elements));
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(4, false)]
    [InlineData(8, true)]
    public void Quantized_weight_bytes_equal_those_of_the_loaded_quantized_model(int bits, bool doubleQuantization)
    {
        using var dir = new TempDirectory();
        // 96 × 160 projections: rows that are not whole 64-blocks, and more than 256 blocks for the nested scales.
        ModelScaffold.Create(new ModelScaffoldOptions("qwen2", new ModelShape(96, 2, 4, 2, 160, 256), dir.Path) { Seed = 4, IncludeTinyTokenizer = false });
        var options = Lora(dir.Path);
        options.Model.Quantization.Bit = bits;
        options.Model.Quantization.DoubleQuantization = doubleQuantization;
        var estimate = MemoryEstimator.Estimate(options, dir.Path);

        using var loaded = QuantizedModelLoader.Load(dir.Path, QuantizationSettings.From(options)!, ScalarType.Float32, CPU);
        long actual = loaded.Model.ParameterBytes + QuantizedModelLoader.QuantizedLayers(loaded.Model).Sum(l => l.Layer.Weight.StorageBytes);
        Assert.Equal(actual, estimate.Components.Single(c => c.Name == "weights").Bytes);
    }

    [Fact]
    public void Methods_rank_as_in_the_papers_and_each_saving_shows_in_its_component()
    {
        // The benchmark model of `bench memory`, with a bf16 batch of 4 × 512.
        var config = ModelConfigFactory.NewConfig("qwen2", new ModelShape(512, 8, 8, 4, 1408, 32000));
        long Total(Action<LlamaBoardOptions> set) => Estimate(set).TotalBytes;
        MemoryEstimate Estimate(Action<LlamaBoardOptions> set)
        {
            var options = Lora("unused");
            options.Training.Bf16 = true;
            options.Training.PerDeviceTrainBatchSize = 4;
            options.Data.CutoffLen = 512;
            set(options);
            return MemoryEstimator.Estimate(options, config);
        }
        static long Part(MemoryEstimate e, string name) => e.Components.Where(c => c.Name == name).Sum(c => c.Bytes);

        long full = Total(o => o.Finetuning.FinetuningType = FinetuningType.Full);
        long freeze = Total(o => { o.Finetuning.FinetuningType = FinetuningType.Freeze; o.Finetuning.Freeze.TrainableLayers = 2; });
        long galore = Total(o => { o.Finetuning.FinetuningType = FinetuningType.Full; o.Finetuning.GaLore.UseGalore = true; o.Finetuning.GaLore.Rank = 16; });
        long badam = Total(o => { o.Finetuning.FinetuningType = FinetuningType.Full; o.Finetuning.BAdam.UseBadam = true; });
        long lora = Total(_ => { });
        long qlora8 = Total(o => o.Model.Quantization.Bit = 8);
        long qlora4 = Total(o => o.Model.Quantization.Bit = 4);
        Assert.True(qlora4 < qlora8 && qlora8 < lora, $"QLoRA 4-bit {qlora4} < 8-bit {qlora8} < LoRA {lora}");
        Assert.True(lora < freeze && freeze < full, $"LoRA {lora} < freeze {freeze} < full {full}");
        Assert.True(galore < full && badam < full, $"GaLore {galore}, BAdam {badam} < full {full}");

        var fullEstimate = Estimate(o => o.Finetuning.FinetuningType = FinetuningType.Full);
        var galoreEstimate = Estimate(o => { o.Finetuning.FinetuningType = FinetuningType.Full; o.Finetuning.GaLore.UseGalore = true; o.Finetuning.GaLore.Rank = 16; });
        // GaLore (target all) keeps the decoder projections' moments at rank 16, a tenth or less of their size; the
        // embeddings and the head keep plain AdamW moments.
        long projections = ParameterInventory.Of(config).Where(p => p.IsProjection && p.Name != "lm_head.weight").Sum(p => p.Elements);
        Assert.True(Part(galoreEstimate, "optimizer states") < Part(fullEstimate, "optimizer states") - 0.8 * 8 * projections);
        Assert.Equal(fullEstimate.TotalParameters * 8, Part(fullEstimate, "optimizer states"));        // AdamW: two fp32 moments
        Assert.Equal(fullEstimate.TotalParameters * 4, Part(fullEstimate, "fp32 masters"));            // bf16 weights keep fp32 masters

        // BAdam's ratio mode keeps moments for 5 % of the decoder weights (embeddings and head frozen).
        var ratioEstimate = Estimate(o => { o.Finetuning.FinetuningType = FinetuningType.Full; o.Finetuning.BAdam.UseBadam = true; o.Finetuning.BAdam.Mode = BAdamMode.Ratio; });
        Assert.InRange(Part(ratioEstimate, "optimizer states"), 0.05 * 8 * projections, 0.05 * 8 * projections * 1.1);

        var checkpointed = Estimate(_ => { });
        var eager = Estimate(o => o.Model.DisableGradientCheckpointing = true);
        Assert.True(Part(eager, "activations") > 3 * Part(checkpointed, "activations"));
    }

    [Fact]
    public void The_capacity_check_compares_the_total_with_the_device()
    {
        using var dir = new TempDirectory();
        ModelScaffold.Create(new ModelScaffoldOptions("qwen2", new ModelShape(64, 2, 4, 2, 128, 256), dir.Path) { IncludeTinyTokenizer = false });
        var estimate = MemoryEstimator.Estimate(Lora(dir.Path), dir.Path);
        Assert.True(estimate.Fits(estimate.TotalBytes));
        Assert.False(estimate.Fits(estimate.TotalBytes - 1));
        Assert.True(MemoryEstimator.DeviceCapacity(CPU) > estimate.TotalBytes);
        string text = estimate.Format();
        Assert.Contains("total (peak)", text);
        Assert.Contains("optimizer states", text);
    }

    static LlamaBoardOptions Lora(string folder)
    {
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = folder;
        options.Finetuning.FinetuningType = FinetuningType.Lora;
        options.Finetuning.Lora.Target = ["all"];
        options.Training.PerDeviceTrainBatchSize = 2;
        options.Data.CutoffLen = 64;
        return options;
    }
}
