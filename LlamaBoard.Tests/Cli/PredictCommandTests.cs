using LlamaBoard.Cli;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Data;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary>Evaluate &amp; Predict from a LLaMA-Factory-style YAML through <c>llamaboard train</c>.</summary>
public class PredictCommandTests
{
    [Fact]
    public void Train_with_do_predict_writes_predictions_and_metrics()
    {
        using var temp = new TempDirectory();
        string model = temp.File("demo");
        DemoModel.EnsureCreated(model);
        string config = temp.File("predict.yaml");
        File.WriteAllText(config, $"""
            model_name_or_path: {model}
            stage: sft
            do_train: false
            do_predict: true
            predict_with_generate: true
            finetuning_type: lora
            eval_dataset: alpaca_demo
            dataset_dir: {RepositoryPaths.DemoData}
            template: qwen3
            cutoff_len: 256
            max_samples: 3
            max_new_tokens: 6
            do_sample: false
            output_dir: {temp.File("out")}
            """);
        var (code, output, error) = Run(new CliServices { CreateTrainer = CliServices.Default.CreateTrainer, Interrupts = new ManualInterrupts() },
                                        "train", config);
        Assert.True(code == ExitCodes.Success, error + output);
        Assert.Equal(3, PredictionFiles.ReadPredictions(Path.Combine(temp.File("out"), PredictionFiles.PredictionsFileName)).Count);
        string results = File.ReadAllText(Path.Combine(temp.File("out"), PredictionFiles.PredictResultsFileName));
        Assert.Contains("\"predict_bleu-4\"", results, StringComparison.Ordinal);
        Assert.Contains("\"predict_rouge-l\"", results, StringComparison.Ordinal);
    }
}
