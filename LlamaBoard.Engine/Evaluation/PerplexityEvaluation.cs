using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Recipes;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>What to score: a configuration's evaluation datasets, or texts given directly.</summary>
public enum PerplexitySource
{
    /// <summary>The examples of eval_dataset (or dataset when eval_dataset is empty), templated as the stage's processor does.</summary>
    Dataset,
    /// <summary>Each non-blank text on its own (the tokenizer's special tokens, no template).</summary>
    Texts,
}

/// <summary>
/// Perplexity of a configured model, for the board's Evaluate tab and other callers that hold a configuration
/// rather than tensors: loads model_name_or_path (the demo model is created on first use, hub ids are downloaded)
/// in infer_dtype on the configured device, applies adapter_name_or_path in order, then scores the
/// evaluation datasets' examples (responses only for sft, whole texts for pt; cutoff_len and max_samples apply)
/// or the given texts with <see cref="Perplexity"/>.
/// </summary>
public static class PerplexityEvaluation
{
    /// <summary>Runs the evaluation; <paramref name="progress"/> gets one line per step.</summary>
    /// <param name="options">model_name_or_path, adapter_name_or_path, infer_dtype, device, template, dataset_dir, eval_dataset/dataset, cutoff_len, max_samples.</param>
    /// <param name="source">Datasets or <paramref name="texts"/>.</param>
    /// <param name="texts">The texts for <see cref="PerplexitySource.Texts"/>.</param>
    /// <param name="stage">sft scores responses; pt scores whole texts.</param>
    /// <param name="progress">Step lines (loading, data, scoring).</param>
    /// <param name="cancellation">Checked between items.</param>
    /// <exception cref="ArgumentException">No datasets or no texts to score, or a setting is wrong.</exception>
    public static PerplexityReport Run(LlamaBoardOptions options, PerplexitySource source, IReadOnlyList<string>? texts = null,
                                       DataStage stage = DataStage.Supervised, IProgress<string>? progress = null,
                                       CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var datasets = options.Data.EvalDataset is { Count: > 0 } eval ? eval : options.Data.Dataset ?? [];
        if (source == PerplexitySource.Dataset && datasets.Count == 0)
            throw new ArgumentException("Choose an evaluation dataset (eval_dataset) to score.");
        if (source == PerplexitySource.Texts && (texts is null || texts.All(string.IsNullOrWhiteSpace)))
            throw new ArgumentException("Give at least one text to score.");

        TorchRuntime.EnsureInitialized();
        var device = ComputeDevices.Resolve(options.Model.Device);
        string folder = RecipeSetup.ModelFolder(options, new Lines(progress), cancellation);
        var dtype = ChatEngineLoader.InferenceDType(options.Model.InferDType, device);
        progress?.Report($"loading {folder} ({DTypes.HfName(dtype)} on {device})");
        using var loaded = HfModelLoader.Load(folder, dtype, device);
        foreach (string adapter in options.Model.AdapterNameOrPath ?? [])
        {
            cancellation.ThrowIfCancellationRequested();
            progress?.Report($"applying the adapter {adapter}");
            PeftAdapterFiles.Load(loaded.Model, adapter);
        }
        loaded.Model.eval();

        if (source == PerplexitySource.Texts)
        {
            progress?.Report($"scoring {texts!.Count} texts");
            return Perplexity.OfTexts(loaded.Model, HfTokenizer.Load(folder), texts!, options.Data.CutoffLen, cancellation);
        }

        // The evaluation datasets become the prepared "train" split: all of them, unsplit and unpacked.
        var data = options.Clone();
        data.Data.Dataset = [.. datasets];
        data.Data.EvalDataset = null;
        data.Data.ValSize = 0;
        data.Data.Packing = false;
        data.Data.NeatPacking = false;
        var prepared = DataPipeline.Prepare(DataPipelineOptions.From(data), stage, folder, cancellation: cancellation);
        progress?.Report($"scoring {prepared.Train.Count} examples of {string.Join(", ", datasets)}");
        return Perplexity.OfSamples(loaded.Model, prepared.Train, cancellation);
    }

    sealed class Lines(IProgress<string>? progress) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value)
        {
            if (value is TrainingLog log) progress?.Report(log.Message);
        }
    }
}
