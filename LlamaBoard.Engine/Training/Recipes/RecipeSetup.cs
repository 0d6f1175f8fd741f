using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>The first steps every recipe takes, as small functions the recipes call in order.</summary>
public static class RecipeSetup
{
    /// <summary>libtorch, the device, and the seed.</summary>
    public static Device Device(LlamaBoardOptions options)
    {
        TorchRuntime.EnsureInitialized();
        var device = ComputeDevices.Resolve(options.Model.Device);
        torch.manual_seed(options.Training.Seed);
        return device;
    }

    /// <summary>
    /// The model folder: a local folder as is, or a hub id downloaded into the Hugging Face cache (progress goes to
    /// the run's log).
    /// </summary>
    public static string ModelFolder(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        string nameOrPath = options.Model.ModelNameOrPath
            ?? throw new ArgumentException("model_name_or_path is required: a model folder or a hub id such as Qwen/Qwen2.5-0.5B-Instruct.");
        if (DemoModel.IsDemoPath(nameOrPath) && DemoModel.EnsureCreated(nameOrPath))
            progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Created the demo model in {Path.GetFullPath(nameOrPath)}."));
        int lastDecile = -1;
        var downloads = new Progress<DownloadProgress>(p =>
        {
            int decile = (int)((p.Fraction ?? 0) * 10);
            if (decile == lastDecile) return;
            lastDecile = decile;
            progress.Report(new TrainingLog(TrainingLogLevel.Info,
                $"Downloading {p.Repo}: {DownloadProgress.FormatBytes(p.BytesDone)} of {(p.BytesTotal is { } total ? DownloadProgress.FormatBytes(total) : "?")}"));
        });
        return HubModelResolver.ResolveAsync(nameOrPath, HubOptions.FromEnvironment(), downloads, stop).GetAwaiter().GetResult();
    }

    /// <summary>Reads, converts, templates and tokenizes the datasets (or loads them from the tokenized cache).</summary>
    public static PreparedData Data(LlamaBoardOptions options, DataStage stage, string tokenizerFolder,
                                    IProgress<TrainingEvent> progress, CancellationToken stop, DataStage? evalStage = null)
    {
        var prepared = DataPipeline.Prepare(DataPipelineOptions.From(options), stage, tokenizerFolder, evalStage, progress: null, stop);
        string source = prepared.FromCache ? $" (from the tokenized cache {prepared.CachePath})" : "";
        progress.Report(new TrainingLog(TrainingLogLevel.Info,
            $"Data: {prepared.Train.Count} training and {prepared.Eval.Count} evaluation samples, {prepared.Train.TotalTokens:N0} training tokens{source}."));
        foreach (var dataset in prepared.Report.Datasets.Where(d => d.Skipped > 0))
            progress.Report(new TrainingLog(TrainingLogLevel.Warning,
                $"{dataset.Name}: skipped {dataset.Skipped} bad records (skip_bad_records); first: {dataset.SkippedSamples.FirstOrDefault()?.Message}"));
        return prepared;
    }

    /// <summary>Writes the run's options next to its outputs, as LLaMA-Factory's board does (training_args.yaml).</summary>
    public static void SaveArguments(LlamaBoardOptions options)
    {
        string outputDir = options.Training.OutputDir!;
        Directory.CreateDirectory(outputDir);
        OptionsWriter.Save(options, Path.Combine(outputDir, "training_args.yaml"));
    }
}
