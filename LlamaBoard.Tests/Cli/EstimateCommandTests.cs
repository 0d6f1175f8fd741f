using LlamaBoard.Cli;
using LlamaBoard.Tests.Engine.Training;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard estimate</c>: the memory breakdown of a YAML run before launch, and whether it fits.</summary>
public class EstimateCommandTests
{
    [Fact]
    public void The_qlora_example_gets_a_breakdown_with_quantized_weights_and_a_fit_verdict()
    {
        Torch.EnsureReady();
        var (code, output, error) = Run("estimate", Example("train_qlora/demo_qlora_sft.yaml"), $"model_name_or_path={TrainingFixtures.TinyModel()}");
        Assert.True(code == ExitCodes.Success, output + error);
        Assert.Contains("Memory estimate for", output);
        Assert.Contains("quantized to 4 bits", output);
        Assert.Contains("batch 2 × cutoff_len 512, gradient checkpointing on", output);
        foreach (string part in new[] { "weights", "gradients", "optimizer states", "activations", "logits chunk", "dequantization", "runtime", "total (peak)" })
            Assert.Contains(part, output);
        Assert.Contains("fits: cpu has", output);
    }

    [Fact]
    public void A_run_bigger_than_the_device_gets_a_warning_with_what_to_change()
    {
        Torch.EnsureReady();
        // A 32K-token batch on a model with a 512-token vocabulary: activations of several TiB without checkpointing.
        var (code, output, error) = Run("estimate", Example("train_full/demo_full_sft.yaml"), $"model_name_or_path={TrainingFixtures.TinyModel()}",
            "per_device_train_batch_size=4096", "cutoff_len=32768", "disable_gradient_checkpointing=true");
        Assert.True(code == ExitCodes.Success, output + error);
        Assert.Contains("WARNING: more than the", output);
        Assert.Contains("lower the batch or cutoff_len", output);
    }
}
