using System.Diagnostics;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>
/// Evaluate &amp; Predict, LLaMA-Factory's <c>do_eval</c> / <c>do_predict</c> with <c>predict_with_generate</c>,
/// read top to bottom: device → model folder → evaluation data → model in infer_dtype (+ adapter_name_or_path)
/// → eval_loss and perplexity → predictions and BLEU/ROUGE → result files in output_dir.
/// </summary>
/// <remarks>
/// Progress goes through the trainer's event stream: one <see cref="TrainingStarted"/> whose steps are the
/// evaluation and prediction batches, a <see cref="StepCompleted"/> per batch (its loss is the running eval_loss
/// while evaluating, and the batch's reference loss — the labels scored teacher-forced — while predicting; 0 when a
/// batch has no reference), an <see cref="EvaluationCompleted"/> per phase with its metrics, and
/// <see cref="TrainingFinished"/> last — so the board's progress bar and the CLI display work unchanged.
/// </remarks>
public static class EvaluationRun
{
    /// <summary>
    /// True for a run that evaluates or predicts without training: do_train false and do_eval or do_predict true
    /// (do_train defaults to false in the options model, so a run with neither is still a training run).
    /// </summary>
    public static bool IsEvaluationOnly(LlamaBoardOptions options) =>
        options is { Training.DoTrain: false } && (options.Training.DoEval || options.Training.DoPredict);

    /// <summary>Runs do_eval and/or do_predict without training (do_train: false).</summary>
    /// <exception cref="ArgumentException">A setting is missing or wrong (the message names it).</exception>
    /// <exception cref="NotSupportedException">do_predict for a stage other than sft.</exception>
    public static TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var clock = Stopwatch.StartNew();
        string outputDir = options.Training.OutputDir
            ?? throw new ArgumentException("output_dir is required: the folder for eval_results.json, predict_results.json and generated_predictions.jsonl.");
        CheckPredict(options);
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var stage = options.Finetuning.Stage;
        var evalSet = options.Training.DoEval ? EvaluationData.Prepare(options, DataStages.From(stage), modelFolder, progress, stop) : null;
        var predictSet = options.Training.DoPredict ? EvaluationData.Prepare(options, DataStage.Unsupervised, modelFolder, progress, stop) : null;

        var dtype = ChatEngineLoader.InferenceDType(options.Model.InferDType, device);
        using var loaded = HfModelLoader.Load(modelFolder, dtype, device);
        foreach (string adapter in options.Model.AdapterNameOrPath ?? [])
        {
            PeftAdapterFiles.Load(loaded.Model, adapter);
            progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Applied the adapter {adapter}."));
        }
        loaded.Model.eval();
        Directory.CreateDirectory(outputDir);
        RecipeSetup.SaveArguments(options);

        int batchSize = options.Training.PerDeviceEvalBatchSize;
        int total = Batches(evalSet, batchSize) + Batches(predictSet, batchSize);
        var steps = new StepReporter(progress, total, device);
        progress.Report(new TrainingStarted(stage, total, 1, 0, loaded.Model.ParameterCount, device.ToString(), outputDir));
        bool completed = true;
        if (evalSet is not null)
            completed = Evaluate(loaded.Model, evalSet.Samples, batchSize, outputDir, steps, progress, stop);
        if (completed && predictSet is not null)
            completed = Predict(options, loaded.Model, modelFolder, predictSet, outputDir, steps, progress, stop);

        var outcome = completed ? TrainingOutcome.Completed : TrainingOutcome.Stopped;
        if (!completed) progress.Report(new TrainingLog(TrainingLogLevel.Info, "Stopped on request; the unfinished phase wrote no results."));
        progress.Report(new TrainingFinished(outcome, steps.Step, clock.Elapsed));
        return new TrainingResult(outcome, steps.Step, outputDir, null);
    }

    /// <summary>
    /// Predictions with the model a training run just trained (do_train with do_predict), reported as log lines and
    /// an <see cref="EvaluationCompleted"/>; the caller's run keeps its own step count.
    /// </summary>
    /// <returns>False when stopped on request.</returns>
    public static bool PredictAfterTraining(LlamaBoardOptions options, DecoderModel model, string modelFolder,
                                            IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(model);
        CheckPredict(options);
        var set = EvaluationData.Prepare(options, DataStage.Unsupervised, modelFolder, progress, stop);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            return Predict(options, model, modelFolder, set, options.Training.OutputDir!, steps: null, progress, stop);
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }

    static void CheckPredict(LlamaBoardOptions options)
    {
        if (!options.Training.DoPredict) return;
        if (options.Finetuning.Stage != TrainingStage.Sft)
            throw new NotSupportedException($"do_predict generates replies for stage sft only, not {options.Finetuning.Stage}; use do_eval for eval_loss and perplexity.");
        if (!options.Training.PredictWithGenerate)
            throw new ArgumentException("do_predict: true needs predict_with_generate: true to generate and save predictions.");
    }

    static int Batches(EvaluationSet? set, int batchSize) => set is null ? 0 : (set.Samples.Count + batchSize - 1) / batchSize;

    /// <summary>eval_loss (per target token over the whole set) and perplexity = exp(eval_loss), with Perplexity's scoring.</summary>
    static bool Evaluate(DecoderModel model, TokenizedDataset samples, int batchSize, string outputDir, StepReporter steps,
                         IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        double nll = 0;
        long targets = 0;
        int batches = 0;
        for (int first = 0; first < samples.Count; first += batchSize)
        {
            if (stop.IsCancellationRequested) return false;
            for (int i = first; i < Math.Min(samples.Count, first + batchSize); i++)
            {
                var sequence = samples[i].Main;
                if (sequence.Labels.Skip(1).All(l => l == TokenSequence.IgnoreIndex)) continue;
                var item = Perplexity.OfSequence(model, sequence, i);
                nll += item.NegativeLogLikelihood;
                targets += item.Tokens;
            }
            batches++;
            steps.Report(targets > 0 ? nll / targets : 0, targets);
        }
        if (targets == 0)
            throw new ArgumentException("no evaluation sample has a token to score; check the eval data's responses and cutoff_len.");
        double evalLoss = nll / targets;
        double seconds = Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        var metrics = new Dictionary<string, double>
        {
            ["eval_loss"] = evalLoss,
            ["perplexity"] = Math.Exp(evalLoss),
            ["eval_runtime"] = Math.Round(seconds, 4),
            ["eval_samples_per_second"] = Math.Round(samples.Count / seconds, 3),
            ["eval_steps_per_second"] = Math.Round(batches / seconds, 3),
        };
        PredictionFiles.WriteMetrics(outputDir, PredictionFiles.EvalResultsFileName, metrics);
        progress.Report(new EvaluationCompleted(steps.Step, evalLoss, metrics.Where(kv => kv.Key != "eval_loss").ToDictionary()));
        return true;
    }

    static bool Predict(LlamaBoardOptions options, DecoderModel model, string modelFolder, EvaluationSet set, string outputDir,
                        StepReporter? steps, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var tokenizer = HfTokenizer.Load(modelFolder);
        // Seeded so that sampled predictions repeat from run to run (greedy ones do anyway).
        var sampling = SamplingOptions.From(options.Generating) with { Seed = options.Training.Seed };
        var predictor = new Predictor(model, tokenizer, set.Tokenizer.StopTokenIds, set.Tokenizer.PadTokenId, sampling,
                                      options.Training.PerDeviceEvalBatchSize, options.Generating.SkipSpecialTokens);
        long lastTokens = 0;
        var result = predictor.Run(set.Samples, batch =>
        {
            if (steps is not null) steps.Report(batch.ReferenceLoss ?? 0, batch.GeneratedTokens - lastTokens);
            else
                progress.Report(new TrainingLog(TrainingLogLevel.Info, FormattableString.Invariant(
                    $"Predicting: batch {batch.Batch}/{batch.Batches}, {batch.GeneratedTokens} tokens generated in {batch.Elapsed.TotalSeconds:0.0} s.")));
            lastTokens = batch.GeneratedTokens;
        }, stop);
        if (result.Stopped) return false;

        string predictions = PredictionFiles.WritePredictions(outputDir, result.Records);
        var metrics = result.Metrics();
        PredictionFiles.WriteMetrics(outputDir, PredictionFiles.PredictResultsFileName, metrics);
        progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Saved {result.Records.Count} predictions to {predictions}."));
        if (result.ReferenceLoss is { } loss)
            progress.Report(new EvaluationCompleted(steps?.Step ?? 0, loss, metrics.Where(kv => kv.Key != "predict_loss").ToDictionary()));
        else
            progress.Report(new TrainingLog(TrainingLogLevel.Warning,
                "The evaluation data has no reference replies: BLEU/ROUGE compare against empty labels. " +
                string.Join(", ", metrics.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:0.####}")))));
        return true;
    }

    /// <summary>Numbers the batches of the whole run and reports each as a <see cref="StepCompleted"/>.</summary>
    sealed class StepReporter(IProgress<TrainingEvent> progress, int total, Device device)
    {
        readonly Stopwatch clock = Stopwatch.StartNew();
        long tokens;

        public int Step { get; private set; }

        public void Report(double runningLoss, long newTokens)
        {
            Step++;
            tokens += newTokens;
            var elapsed = clock.Elapsed;
            double perSecond = tokens / Math.Max(1e-9, elapsed.TotalSeconds);
            var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds / Step * Math.Max(0, total - Step));
            progress.Report(new StepCompleted(Step, total, (double)Step / Math.Max(1, total), runningLoss, 0, null, perSecond, tokens,
                                              MemoryInUse(), elapsed, remaining));
        }

        long? MemoryInUse()
        {
            if (device.type == DeviceType.CUDA && Nvml.ReadAll() is { Count: > 0 } gpus)
                return gpus[Math.Min(gpus.Count - 1, Math.Max(0, (int)device.index))].UsedBytes;
            return ProcessMemory.Read().ResidentBytes;
        }
    }
}
