using System.Text.Json.Nodes;
using LlamaBoard.Cli;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Data;
using LlamaBoard.Tests.Engine.Quantization;
using LlamaBoard.Tests.Engine.Training;
using static LlamaBoard.Tests.Cli.CliTestKit;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Cli;

/// <summary>
/// QLoRA from YAML, as a user runs it: <c>llamaboard train examples/train_qlora/demo_qlora_sft.yaml</c> with the real
/// trainer quantizes the base while loading, trains LoRA on it and saves a PEFT adapter that helps the unquantized base.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class QloraTrainCommandTests
{
    public QloraTrainCommandTests() => Torch.EnsureReady();

    [Theory]
    [InlineData(4, "nf4", "4-bit nf4 with double quantization")]
    [InlineData(4, "fp4", "4-bit fp4 with double quantization")]
    [InlineData(8, "nf4", "8-bit int8 (per-row scales)")]
    public void The_qlora_example_trains_and_saves_an_adapter_for_the_unquantized_base(int bits, string type, string described)
    {
        using var dir = new TempDirectory();
        string output = dir.File("out"), model = TrainingFixtures.TinyModel();
        var services = new CliServices { CreateTrainer = () => new TrainingRunner(), Interrupts = new ManualInterrupts() };
        var (code, text, error) = Run(services, "train", Example("train_qlora/demo_qlora_sft.yaml"),
            $"model_name_or_path={model}", $"dataset_dir={RepositoryPaths.DemoData}", "dataset=identity", "cutoff_len=128",
            $"quantization_bit={bits}", $"quantization_type={type}", "max_steps=12", "warmup_ratio=0", "learning_rate=5e-3",
            "gradient_accumulation_steps=1", "per_device_train_batch_size=4", "logging_steps=1", "save_steps=1000", $"output_dir={output}");
        Assert.True(code == ExitCodes.Success, text + error);
        Assert.Contains($"Quantized 14 projections to {described}", text);
        Assert.Contains("finished 12 steps", text);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "adapter_config.json")))!;
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal(7, config["target_modules"]!.AsArray().Count);

        // The adapter is plain PEFT: it loads onto the unquantized base and lowers its loss on the training data.
        var options = TrainingFixtures.Sft(dir.File("eval"));
        using var plain = HfModelLoader.Load(model, ScalarType.Float32, CPU);
        double before = DataLoss.Mean(plain.Model, options, DataStage.Supervised, 16);
        PeftAdapterFiles.Load(plain.Model, output);
        double after = DataLoss.Mean(plain.Model, options, DataStage.Supervised, 16);
        Assert.True(after < before - 0.15, $"the adapter helps the unquantized base: {before:0.000} → {after:0.000}");
    }

    [Theory]
    [InlineData("finetuning_type=full", "quantization_bit: 4 needs finetuning_type lora (QLoRA)")]
    [InlineData("finetuning_type=freeze", "quantization_bit: 4 needs finetuning_type lora (QLoRA)")]
    [InlineData("pissa_init=true", "pissa_init: true cannot be combined with quantization_bit")]
    [InlineData("quantization_bit=2", "quantization_bit")]
    public void Unsupported_combinations_are_refused_before_anything_runs(string setting, string message)
    {
        using var dir = new TempDirectory();
        var services = new CliServices { CreateTrainer = () => throw new InvalidOperationException("must not train"), Interrupts = new ManualInterrupts() };
        var (code, _, error) = Run(services, "train", Example("train_qlora/demo_qlora_sft.yaml"), setting, $"output_dir={dir.File("out")}");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains(message, error);
        Assert.Contains("nothing was run", error);
    }
}
