using System.Text.Json;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Evaluation;

/// <summary>What the Evaluate tab runs.</summary>
public enum EvaluationMode
{
    /// <summary>Perplexity of the evaluation datasets' examples (responses for sft).</summary>
    PerplexityDataset,
    /// <summary>Perplexity of texts typed or pasted into the tab, one per line.</summary>
    PerplexityText,
    /// <summary>
    /// Generate a reply for each example of the evaluation datasets and score it against the dataset's reply with
    /// BLEU-4 and ROUGE (do_predict with predict_with_generate), after eval_loss and perplexity (do_eval).
    /// </summary>
    Predict,
}

/// <summary>
/// The Evaluate tab's job in one browser tab (scoped per circuit): runs an evaluation off the UI thread with the
/// form's options, collects progress lines, keeps the report and writes it to the output folder. Perplexity runs
/// through <see cref="PerplexityEvaluation"/>; <see cref="EvaluationMode.Predict"/> runs the engine's
/// <see cref="EvaluationRun"/> (the trainer's event stream gives the progress) and reads its result files back. Paths outside the board's allowed folders
/// (<see cref="BoardRoots"/>), the output folder included, are refused before anything is read or written.
/// </summary>
public sealed class EvaluationSession(BoardRoots roots) : IDisposable
{
    /// <summary>The file a perplexity evaluation writes into the output folder.</summary>
    public const string ResultsFile = "perplexity_results.json";

    readonly Lock sync = new();
    readonly List<string> lines = [];
    CancellationTokenSource? running;

    /// <summary>True while an evaluation runs.</summary>
    public bool IsRunning => running is not null;
    /// <summary>Progress lines of the current or last evaluation.</summary>
    public IReadOnlyList<string> Lines { get { lock (sync) return [.. lines]; } }
    /// <summary>Predictions the tab lists; the output folder has them all.</summary>
    public const int PredictionRows = 20;

    /// <summary>The last perplexity report; null before one finished.</summary>
    public PerplexityReport? Report { get; private set; }
    /// <summary>The last Predict run's metrics and first predictions; null before one finished.</summary>
    public PredictReport? Predictions { get; private set; }
    /// <summary>Batches done by the current or last Predict run (evaluation and prediction batches together).</summary>
    public int Step { get; private set; }
    /// <summary>Batches in the current or last Predict run; 0 before the engine has counted them.</summary>
    public int TotalSteps { get; private set; }
    /// <summary>Share of the batches done, 0 to 1 (0 while data and model load).</summary>
    public double Progress => TotalSteps > 0 ? Math.Min(1, (double)Step / TotalSteps) : 0;
    /// <summary>Where the last report was saved; null when none was.</summary>
    public string? SavedTo { get; private set; }
    /// <summary>Why the last evaluation failed; null otherwise.</summary>
    public string? Error { get; private set; }
    /// <summary>The last evaluation was aborted.</summary>
    public bool Cancelled { get; private set; }
    /// <summary>Raised on progress and state changes, from the evaluating thread: coalesce before rendering.</summary>
    public event Action? Changed;

    /// <summary>Whether <paramref name="mode"/> can run in this build, and why not (every mode runs now; kept for modes to come).</summary>
    public static string? Unavailable(EvaluationMode mode) => Enum.IsDefined(mode) ? null : $"Unknown evaluation mode {mode}.";

    /// <summary>Evaluates as <paramref name="options"/> say and saves the report in <paramref name="outputDir"/> (when set).</summary>
    /// <exception cref="InvalidOperationException">An evaluation is already running.</exception>
    public async Task RunAsync(LlamaBoardOptions options, EvaluationMode mode, string? text, string? outputDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (running is not null) throw new InvalidOperationException("An evaluation is already running.");
        using var stop = new CancellationTokenSource();
        running = stop;
        lock (sync) lines.Clear();
        Report = null;
        Predictions = null;
        Step = 0;
        TotalSteps = 0;
        SavedTo = null;
        Error = null;
        Cancelled = false;
        Changed?.Invoke();
        var copy = options.Clone();
        try
        {
            if (Unavailable(mode) is { } reason) throw new NotSupportedException(reason);
            roots.EnsureAllowed(copy, ["model_name_or_path", "adapter_name_or_path", "dataset_dir", "tokenized_path"], ("The output folder", outputDir));
            if (mode == EvaluationMode.Predict)
            {
                await PredictAsync(copy, outputDir, stop.Token).ConfigureAwait(false);
                return;
            }
            var texts = mode == EvaluationMode.PerplexityText
                ? (text ?? "").Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList()
                : null;
            var source = mode == EvaluationMode.PerplexityText ? PerplexitySource.Texts : PerplexitySource.Dataset;
            var stage = copy.Finetuning.Stage == TrainingStage.Pretrain ? DataStage.Pretrain : DataStage.Supervised;
            var report = await Task.Factory.StartNew(() => PerplexityEvaluation.Run(copy, source, texts, stage, new LineProgress(Add), stop.Token),
                                                     stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            // Saved first, then shown: the page never shows a result that is not on disk yet.
            SavedTo = string.IsNullOrWhiteSpace(outputDir) ? null : Save(report, copy, outputDir);
            Report = report;
            Add($"mean perplexity {report.MeanPerplexity:0.000}, corpus perplexity {report.CorpusPerplexity:0.000} over {report.Items.Count} items");
        }
        catch (OperationCanceledException)
        {
            Cancelled = true;
        }
#pragma warning disable CA1031 // Any failure (model, adapter, dataset, disk) is shown on the board.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Error = e.Message;
        }
        finally
        {
            running = null;
            Changed?.Invoke();
        }
    }

    /// <summary>
    /// Runs the engine's Evaluate &amp; Predict as LLaMA-Factory's board does for its Evaluate tab (stage sft,
    /// predict_with_generate) plus do_eval for eval_loss and perplexity, then reads the result files back.
    /// </summary>
    async Task PredictAsync(LlamaBoardOptions options, string? outputDir, CancellationToken stop)
    {
        if (string.IsNullOrWhiteSpace(outputDir))
            throw new ArgumentException("Predict needs an output folder for generated_predictions.jsonl and predict_results.json: fill in output_dir.");
        options.Finetuning.Stage = TrainingStage.Sft;
        options.Training.DoTrain = false;
        options.Training.DoEval = true;
        options.Training.DoPredict = true;
        options.Training.PredictWithGenerate = true;
        options.Training.OutputDir = outputDir;
        var result = await Task.Factory.StartNew(() => EvaluationRun.Run(options, new EventProgress(this), stop),
                                                 stop, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        if (result.Outcome != TrainingOutcome.Completed)
        {
            Cancelled = true;
            return;
        }
        var report = PredictReport.Read(outputDir, PredictionRows);
        Predictions = report;
        SavedTo = Path.Combine(outputDir, PredictionFiles.PredictResultsFileName);
        Add(FormattableString.Invariant($"{report.TotalRows} predictions: BLEU-4 {report.Metric("predict_bleu-4"):0.####}, ROUGE-L {report.Metric("predict_rouge-l"):0.####}"));
    }

    /// <summary>Turns the engine's events into the tab's progress and log lines.</summary>
    void OnEvent(TrainingEvent value)
    {
        switch (value)
        {
            case TrainingStarted started:
                TotalSteps = started.TotalSteps;
                Add(FormattableString.Invariant($"{started.TotalSteps} batches on {started.Device}"));
                break;
            case StepCompleted step:
                Step = step.Step;
                TotalSteps = step.TotalSteps;
                Changed?.Invoke();
                break;
            case EvaluationCompleted evaluation:
                Add(string.Join(", ", evaluation.Metrics.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:0.####}"))
                                                        .Prepend(FormattableString.Invariant($"loss {evaluation.EvalLoss:0.####}"))));
                break;
            case TrainingLog log:
                Add(log.Message);
                break;
            default:
                break;
        }
    }

    /// <summary>Writes the report as JSON (summary and per-item values), atomically.</summary>
    static string Save(PerplexityReport report, LlamaBoardOptions options, string outputDir)
    {
        Directory.CreateDirectory(outputDir);
        string path = Path.Combine(outputDir, ResultsFile);
        var document = new
        {
            model_name_or_path = options.Model.ModelNameOrPath,
            adapter_name_or_path = options.Model.AdapterNameOrPath,
            mean_perplexity = Finite(report.MeanPerplexity),
            corpus_perplexity = Finite(report.CorpusPerplexity),
            items = report.Items.Count,
            skipped = report.Skipped,
            per_item = report.Items.Select(i => new { index = i.Index, tokens = i.Tokens, nll = i.NegativeLogLikelihood, perplexity = Finite(i.Perplexity), text = i.Text }),
        };
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    static double? Finite(double value) => double.IsFinite(value) ? value : null;

    void Add(string line)
    {
        lock (sync) lines.Add(line);
        Changed?.Invoke();
    }

    /// <summary>Aborts the evaluation at the next item.</summary>
    public void Cancel()
    {
        try
        {
            running?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It finished meanwhile.
        }
    }

    sealed class LineProgress(Action<string> add) : IProgress<string>
    {
        public void Report(string value) => add(value);
    }

    // Reports on the evaluating thread (not Progress<T>, which would post to the circuit's context).
    sealed class EventProgress(EvaluationSession session) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value) => session.OnEvent(value);
    }

    /// <inheritdoc/>
    public void Dispose() => Cancel();
}
