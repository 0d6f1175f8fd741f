using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>Tiny models and options for trainer tests, and a progress sink that records events synchronously.</summary>
internal static class TrainingFixtures
{
    static readonly Lock Gate = new();
    static string? tinyModel;

    /// <summary>A tiny qwen3 model with the built-in tokenizer, made once per test run.</summary>
    public static string TinyModel()
    {
        lock (Gate)
        {
            if (tinyModel is not null) return tinyModel;
            string folder = Path.Combine(Path.GetTempPath(), "llamaboard-tests", "tiny-qwen3-" + Environment.ProcessId);
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
            ModelScaffold.Create(new ModelScaffoldOptions("qwen3", new ModelShape(64, 2, 4, 2, 128, 512, HeadDim: 16), folder) { Seed = 11 });
            return tinyModel = folder;
        }
    }

    /// <summary>Options for a short SFT run on the demo identity data.</summary>
    public static LlamaBoardOptions Sft(string outputDir, FinetuningType method = FinetuningType.Lora, int maxSteps = 10)
    {
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = TinyModel();
        options.Model.Device = "cpu";
        options.Finetuning.Stage = TrainingStage.Sft;
        options.Finetuning.FinetuningType = method;
        options.Finetuning.Lora.Rank = 8;
        options.Finetuning.Freeze.TrainableLayers = 1;
        options.Data.Dataset = ["identity"];
        options.Data.DatasetDir = RepositoryPaths.DemoData;
        options.Data.Template = "qwen3";
        options.Data.CutoffLen = 128;
        options.Data.OverwriteCache = true;
        options.Training.OutputDir = outputDir;
        options.Training.OverwriteOutputDir = true;
        options.Training.PerDeviceTrainBatchSize = 4;
        options.Training.GradientAccumulationSteps = 1;
        options.Training.LearningRate = method == FinetuningType.Lora ? 5e-3 : 1e-3;
        options.Training.MaxSteps = maxSteps;
        options.Training.LoggingSteps = 1;
        options.Training.SaveSteps = 1000;
        options.Training.LrSchedulerType = SchedulerType.Constant;
        options.Training.Seed = 7;
        return options;
    }

    /// <summary>
    /// Options for a short preference run (rm, dpo, kto) on the demo preference data (dpo_demo: 8 pairs; kto_demo: 10
    /// tagged examples), LoRA on the tiny model, every step logged.
    /// </summary>
    public static LlamaBoardOptions Preference(string outputDir, TrainingStage stage, PreferenceLoss loss = PreferenceLoss.Sigmoid, int maxSteps = 12)
    {
        var options = Sft(outputDir, FinetuningType.Lora, maxSteps);
        options.Finetuning.Stage = stage;
        options.Finetuning.Preference.Loss = loss;
        options.Data.Dataset = [stage == TrainingStage.Kto ? "kto_demo" : "dpo_demo"];
        options.Training.PerDeviceTrainBatchSize = 4;
        options.Training.LearningRate = 5e-3;
        return options;
    }

    /// <summary>A stage metric of every step, in order (steps that lack it are skipped).</summary>
    public static List<double> Metric(IEnumerable<TrainingEvent> events, string key) =>
        events.OfType<StepCompleted>().Where(e => e.Metrics?.ContainsKey(key) == true).Select(e => e.Metrics![key]).ToList();

    /// <summary>Runs a training and returns the result with every event, in order.</summary>
    public static (TrainingResult Result, List<TrainingEvent> Events) Train(LlamaBoardOptions options, Func<TrainingEvent, bool>? stopWhen = null)
    {
        using var stop = new CancellationTokenSource();
        var sink = new SyncProgress(e => { if (stopWhen?.Invoke(e) == true) stop.Cancel(); });
        var result = new TrainingRunner().RunAsync(options, sink, stop.Token).GetAwaiter().GetResult();
        return (result, sink.Events);
    }

    /// <summary>Per-step training losses from the events.</summary>
    public static List<double> Losses(IEnumerable<TrainingEvent> events) =>
        events.OfType<StepCompleted>().Select(e => e.Loss).ToList();

    /// <summary>Records events on the reporting thread (Progress&lt;T&gt; would post them asynchronously).</summary>
    public sealed class SyncProgress(Action<TrainingEvent>? onEvent = null) : IProgress<TrainingEvent>
    {
        public List<TrainingEvent> Events { get; } = [];

        public void Report(TrainingEvent value)
        {
            lock (Events) Events.Add(value);
            onEvent?.Invoke(value);
        }
    }
}
