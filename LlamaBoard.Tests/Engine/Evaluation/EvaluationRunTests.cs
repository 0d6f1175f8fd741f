using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Data;
using LlamaBoard.Tests.Engine.Inference;
using TorchSharp;

namespace LlamaBoard.Tests.Engine.Evaluation;

/// <summary>
/// Evaluate &amp; Predict through the trainer's entry point (<c>do_train: false</c>, <c>do_eval</c>,
/// <c>do_predict</c> with <c>predict_with_generate</c>) on the demo model and the demo identity set.
/// </summary>
public sealed class EvaluationRunTests
{
    static readonly Lazy<string> Demo = new(() =>
    {
        string folder = Path.Combine(Path.GetTempPath(), "llamaboard-tests", "eval-demo-model");
        DemoModel.EnsureCreated(folder);
        return folder;
    });

    public EvaluationRunTests() => Torch.EnsureReady();

    static LlamaBoardOptions Options(TempDirectory temp, params string[] overrides)
    {
        var loaded = OptionsLoader.LoadYaml($"""
            model_name_or_path: {Demo.Value}
            stage: sft
            do_train: false
            do_eval: true
            do_predict: true
            predict_with_generate: true
            finetuning_type: lora
            eval_dataset: identity
            dataset_dir: {RepositoryPaths.DemoData}
            template: qwen3
            cutoff_len: 256
            max_samples: 6
            per_device_eval_batch_size: 4
            do_sample: false
            max_new_tokens: 8
            infer_dtype: float32
            device: cpu
            output_dir: {temp.File("out")}
            """, overrides: overrides);
        Assert.True(!loaded.Result.Errors.Any(), string.Join("\n", loaded.Result.Errors));
        return loaded.Options;
    }

    sealed class Events : IProgress<TrainingEvent>
    {
        public List<TrainingEvent> All { get; } = [];
        public void Report(TrainingEvent value) { lock (All) All.Add(value); }
    }

    static (TrainingResult Result, List<TrainingEvent> Events) Run(LlamaBoardOptions options)
    {
        var events = new Events();
        var result = new TrainingRunner().RunAsync(options, events, CancellationToken.None).GetAwaiter().GetResult();
        return (result, events.All);
    }

    static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    [Fact]
    public void Predicts_and_evaluates_the_demo_set_with_the_demo_model()
    {
        using var temp = new TempDirectory();
        var options = Options(temp);
        var (result, events) = Run(options);
        string output = options.Training.OutputDir!;
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);

        // generated_predictions.jsonl: one record per example, labels are the dataset's replies.
        var records = PredictionFiles.ReadPredictions(Path.Combine(output, PredictionFiles.PredictionsFileName));
        var identity = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.DemoData, "identity.json")))!.AsArray();
        Assert.Equal(6, records.Count);
        for (int i = 0; i < 6; i++)
        {
            // As LLaMA-Factory's qwen3 template encodes the reply: an empty thought first (enable_thinking), then the
            // text, then "<|im_end|>\n" of which skip_special_tokens keeps the line break.
            Assert.Equal("<think>\n\n</think>\n\n" + identity[i]!["output"]!.GetValue<string>() + "\n", records[i].Label);
            Assert.Contains(identity[i]!["instruction"]!.GetValue<string>(), records[i].Prompt, StringComparison.Ordinal);
            Assert.EndsWith("<|im_start|>assistant\n", records[i].Prompt, StringComparison.Ordinal);
        }

        // predict_results.json: LLaMA-Factory's keys, and the mean of the per-record scores.
        var predict = ReadJson(Path.Combine(output, PredictionFiles.PredictResultsFileName));
        var expected = SimilarityMetrics.Average(records.Select(r => SimilarityMetrics.Score(r.Predict, r.Label)));
        foreach (string name in SimilarityMetrics.Names)
            Assert.Equal(expected[name], predict["predict_" + name]!.GetValue<double>(), 9);
        Assert.True(predict["predict_samples_per_second"]!.GetValue<double>() > 0);
        Assert.True(predict["predict_loss"]!.GetValue<double>() > 0);

        // eval_results.json: eval_loss is Perplexity's corpus figure over the supervised examples.
        var eval = ReadJson(Path.Combine(output, PredictionFiles.EvalResultsFileName));
        var data = DataPipeline.Prepare(DataPipelineOptions.From(options) with { Dataset = ["identity"], EvalDataset = [], Packing = false },
                                        DataStage.Supervised, Demo.Value);
        using (var loaded = HfModelLoader.Load(Demo.Value, torch.ScalarType.Float32, torch.CPU))
        {
            loaded.Model.eval();
            var report = Perplexity.OfSamples(loaded.Model, data.Train);
            Assert.Equal(Math.Log(report.CorpusPerplexity), eval["eval_loss"]!.GetValue<double>(), 9);
            Assert.Equal(report.CorpusPerplexity, eval["perplexity"]!.GetValue<double>(), 6);
        }
        var all = ReadJson(Path.Combine(output, PredictionFiles.AllResultsFileName));
        Assert.True(all.ContainsKey("eval_loss") && all.ContainsKey("predict_bleu-4"));

        // Events: 2 evaluation + 2 prediction batches, numbered as one run, then the end.
        var started = Assert.Single(events.OfType<TrainingStarted>());
        Assert.Equal(4, started.TotalSteps);
        Assert.Equal([1, 2, 3, 4], events.OfType<StepCompleted>().Select(s => s.Step));
        Assert.All(events.OfType<StepCompleted>(), s => Assert.True(double.IsFinite(s.Loss) && s.Loss > 0));
        Assert.Equal(2, events.OfType<EvaluationCompleted>().Count());
        Assert.IsType<TrainingFinished>(events[^1]);
    }

    [Fact]
    public void Batched_predictions_equal_one_prompt_at_a_time()
    {
        using var temp = new TempDirectory();
        var batched = Options(temp, "do_eval=false");
        Run(batched);
        using var temp1 = new TempDirectory();
        var single = Options(temp1, "do_eval=false", "per_device_eval_batch_size=1");
        Run(single);
        var a = PredictionFiles.ReadPredictions(Path.Combine(batched.Training.OutputDir!, PredictionFiles.PredictionsFileName));
        var b = PredictionFiles.ReadPredictions(Path.Combine(single.Training.OutputDir!, PredictionFiles.PredictionsFileName));
        Assert.Equal(b, a);
        Assert.Contains(a, r => r.Predict.Length > 0);
    }

    [Fact]
    public void A_lora_adapter_changes_predictions_and_loss()
    {
        using var temp = new TempDirectory();
        string adapter = AdapterFixtures.Write(Demo.Value, temp.File("adapter"), ["all"], 4, false, 7);
        var baseOptions = Options(temp);
        Run(baseOptions);
        using var temp2 = new TempDirectory();
        var adapted = Options(temp2, $"adapter_name_or_path={adapter}");
        var (result, events) = Run(adapted);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Contains(events.OfType<TrainingLog>(), l => l.Message.Contains(adapter, StringComparison.Ordinal));
        var basePredictions = PredictionFiles.ReadPredictions(Path.Combine(baseOptions.Training.OutputDir!, PredictionFiles.PredictionsFileName));
        var adaptedPredictions = PredictionFiles.ReadPredictions(Path.Combine(adapted.Training.OutputDir!, PredictionFiles.PredictionsFileName));
        Assert.Equal(basePredictions.Select(p => p.Label), adaptedPredictions.Select(p => p.Label));
        Assert.NotEqual(basePredictions.Select(p => p.Predict), adaptedPredictions.Select(p => p.Predict));
        double baseLoss = ReadJson(Path.Combine(baseOptions.Training.OutputDir!, PredictionFiles.EvalResultsFileName))["eval_loss"]!.GetValue<double>();
        double adaptedLoss = ReadJson(Path.Combine(adapted.Training.OutputDir!, PredictionFiles.EvalResultsFileName))["eval_loss"]!.GetValue<double>();
        Assert.NotEqual(baseLoss, adaptedLoss);
        Assert.True(File.Exists(Path.Combine(adapted.Training.OutputDir!, PredictionFiles.PredictResultsFileName)));
    }

    [Fact]
    public void Training_then_predicting_writes_the_adapter_and_the_predictions()
    {
        using var temp = new TempDirectory();
        var options = Options(temp, "do_train=true", "dataset=identity", "max_steps=2", "per_device_train_batch_size=2", "save_steps=100");
        var (result, events) = Run(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        string output = options.Training.OutputDir!;
        Assert.True(File.Exists(Path.Combine(output, "adapter_model.safetensors")));
        Assert.Equal(6, PredictionFiles.ReadPredictions(Path.Combine(output, PredictionFiles.PredictionsFileName)).Count);
        Assert.True(ReadJson(Path.Combine(output, PredictionFiles.AllResultsFileName)).ContainsKey("predict_rouge-l"));
        Assert.IsType<TrainingFinished>(events[^1]);
    }

    [Fact]
    public void Bad_settings_and_files_are_named_in_the_error()
    {
        using var temp = new TempDirectory();
        var noData = Options(temp);
        noData.Data.EvalDataset = null;
        var e = Assert.Throws<ArgumentException>(() => Run(noData));
        Assert.Contains("eval_dataset", e.Message, StringComparison.Ordinal);

        var unknown = Options(temp);
        unknown.Data.EvalDataset = ["no_such_set"];
        var d = Assert.ThrowsAny<Exception>(() => Run(unknown));
        Assert.Contains("no_such_set", d.Message, StringComparison.Ordinal);

        var pretrain = Options(temp, "stage=pt");
        Assert.Throws<NotSupportedException>(() => Run(pretrain));

        string bad = temp.File("bad.jsonl");
        File.WriteAllText(bad, "{\"prompt\": \"a\", \"predict\": \"b\", \"label\": \"c\"}\n{\"prompt\": 1}\n");
        var r = Assert.Throws<InvalidDataException>(() => PredictionFiles.ReadPredictions(bad));
        Assert.Contains("line 2", r.Message, StringComparison.Ordinal);
        Assert.Contains(bad, r.Message, StringComparison.Ordinal);
    }
}
