using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Data;
using LlamaBoard.Tests.Engine.Training;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>
/// Perplexity on the demo pre-training text of a tiny model trained on it (so its weights have structure, unlike a
/// random model's), in bf16 and quantized: NF4 within 5 %, FP4 within 8 %, int8 within 0.5 % of bf16 (measured: +3.2 %, +4.8 %, +0.0 %). Hidden 64 puts
/// one block per row, a harder case than real models' wide rows.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class QuantizedPerplexityTests
{
    public QuantizedPerplexityTests() => Torch.EnsureReady();

    [Fact]
    public void Quantized_perplexity_stays_within_the_stated_margin_of_bf16()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("trained"), FinetuningType.Full, maxSteps: 40);
        options.Finetuning.Stage = TrainingStage.Pretrain;
        options.Data.Dataset = ["pretrain_demo"];
        options.Data.CutoffLen = 64;
        options.Training.LearningRate = 3e-3;
        options.Training.PerDeviceTrainBatchSize = 8;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);

        var evaluation = TrainingFixtures.Sft(dir.File("unused"), FinetuningType.Full);
        evaluation.Model.ModelNameOrPath = dir.File("trained");
        evaluation.Finetuning.Stage = TrainingStage.Pretrain;
        evaluation.Data.Dataset = ["pretrain_demo"];
        evaluation.Data.CutoffLen = 64;
        double Perplexity(LoadedModel loaded)
        {
            using (loaded) return Math.Exp(DataLoss.Mean(loaded.Model, evaluation, DataStage.Pretrain, 32));
        }
        string folder = dir.File("trained");
        double bf16 = Perplexity(HfModelLoader.Load(folder, ScalarType.BFloat16, CPU));
        double nf4 = Perplexity(QuantizedModelLoader.Load(folder, new QuantizationSettings(4, FourBitFormat.Nf4, true), ScalarType.BFloat16, CPU));
        double fp4 = Perplexity(QuantizedModelLoader.Load(folder, new QuantizationSettings(4, FourBitFormat.Fp4, true), ScalarType.BFloat16, CPU));
        double int8 = Perplexity(QuantizedModelLoader.Load(folder, new QuantizationSettings(8), ScalarType.BFloat16, CPU));
        double untrained = Perplexity(HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.BFloat16, CPU));
        Console.WriteLine($"perplexity on pretrain_demo: untrained {untrained:0.00}, bf16 {bf16:0.00}, nf4+dq {nf4:0.00} ({nf4 / bf16 - 1:+0.0%}), " +
                          $"fp4+dq {fp4:0.00} ({fp4 / bf16 - 1:+0.0%}), int8 {int8:0.00} ({int8 / bf16 - 1:+0.0%})");
        Assert.True(bf16 < untrained / 2, "the model learned the text");
        Assert.InRange(nf4 / bf16, 0.97, 1.05);
        Assert.InRange(fp4 / bf16, 0.95, 1.08);
        Assert.InRange(int8 / bf16, 0.995, 1.005);
    }
}
