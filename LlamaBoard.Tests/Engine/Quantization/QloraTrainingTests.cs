using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Training;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>
/// QLoRA end to end: LoRA trains on a 4-bit (and 8-bit) base, the saved adapter is a plain PEFT adapter that applies
/// to the unquantized base, and a quantized model's perplexity stays close to bf16.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class QloraTrainingTests
{
    public QloraTrainingTests() => Torch.EnsureReady();

    [Theory]
    [InlineData(4, QuantizationType.Nf4)]
    [InlineData(4, QuantizationType.Fp4)]
    [InlineData(8, QuantizationType.Nf4)]
    public void Lora_on_a_quantized_base_learns_and_saves_a_peft_adapter_for_the_unquantized_base(int bits, QuantizationType type)
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), FinetuningType.Lora, maxSteps: 12);
        options.Model.Quantization.Bit = bits;
        options.Model.Quantization.Type = type;
        options.Finetuning.Lora.Target = ["all"];
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 0.2, $"loss falls: {string.Join(", ", losses.Select(l => l.ToString("0.00")))}");
        Assert.Contains(events.OfType<TrainingLog>(), e => e.Message.Contains("Quantized 14 projections", StringComparison.Ordinal));
        var started = events.OfType<TrainingStarted>().Single();
        using (var base_ = HfModelLoader.Load(options.Model.ModelNameOrPath!, ScalarType.Float32, CPU))
            Assert.Equal(base_.Model.ParameterCount + started.TrainableParameters, started.TotalParameters);

        // A plain PEFT adapter: only lora_A/lora_B under PEFT's names, nothing of the quantized base.
        string adapter = dir.File("out");
        using (var file = SafetensorsFile.Open(Path.Combine(adapter, PeftAdapterFiles.WeightsFileName)))
        {
            var names = file.Header.Tensors.Select(t => t.Name).ToList();
            Assert.Equal(28, names.Count);
            Assert.All(names, n => Assert.Matches(@"^base_model\.model\.model\.layers\.\d\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$", n));
        }

        // It applies to the unquantized base: the training batch's loss falls there too, and the adapted unquantized
        // model agrees with the adapted quantized one up to quantization error.
        double Loss(DecoderModel model) => DataLoss.Mean(model, options, LlamaBoard.Engine.Data.DataStage.Supervised, 16);
        using var plain = HfModelLoader.Load(options.Model.ModelNameOrPath!, ScalarType.Float32, CPU);
        double before = Loss(plain.Model);
        PeftAdapterFiles.Load(plain.Model, adapter);
        double after = Loss(plain.Model);
        using var quantized = QuantizedModelLoader.Load(options.Model.ModelNameOrPath!, QuantizationSettings.From(options)!, ScalarType.Float32, CPU);
        PeftAdapterFiles.Load(quantized.Model, adapter);
        double onQuantized = Loss(quantized.Model);
        Assert.True(after < before - 0.3, $"the adapter helps the unquantized base: {before:0.000} → {after:0.000}");
        Assert.True(Math.Abs(after - onQuantized) < 0.1 * before, $"unquantized {after:0.000} vs quantized {onQuantized:0.000}");
    }

}
