using System.Globalization;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Cli.Output;

/// <summary>
/// What the progress display shows, folded from the trainer's events: step/total, loss, learning rate,
/// throughput, memory, elapsed time and ETA, the last evaluation and checkpoint, and recent log lines.
/// </summary>
internal sealed class TrainingProgress
{
    const int KeptLogLines = 5;
    readonly Queue<string> log = new();

    public int Step { get; private set; }
    public int TotalSteps { get; private set; }
    public double Epoch { get; private set; }
    public double? Loss { get; private set; }
    public double? LearningRate { get; private set; }
    public double? GradNorm { get; private set; }
    public double? TokensPerSecond { get; private set; }
    public long? MemoryBytes { get; private set; }
    public TimeSpan Elapsed { get; private set; }
    public TimeSpan? Remaining { get; private set; }
    public (int Step, double Loss)? LastEvaluation { get; private set; }
    public (int Step, string Path)? LastCheckpoint { get; private set; }
    public TrainingOutcome? Outcome { get; private set; }
    public bool StopRequested { get; set; }
    public IReadOnlyCollection<string> RecentLog => log;

    /// <summary>Folds one event into the state; returns the log line it produced, if any (for line-by-line output).</summary>
    public string? Apply(TrainingEvent trainingEvent)
    {
        switch (trainingEvent)
        {
            case TrainingStarted started:
                TotalSteps = started.TotalSteps;
                Step = started.StartStep;
                string resumed = started.StartStep > 0 ? FormattableString.Invariant($"; resumed at step {started.StartStep}") : "";
                return Remember(FormattableString.Invariant(
                    $"started {started.TotalSteps} steps ({started.Epochs:0.##} epochs) on {started.Device}; {Count(started.TrainableParameters)} of {Count(started.TotalParameters)} parameters train{resumed}"));
            case StepCompleted step:
                Step = step.Step;
                TotalSteps = step.TotalSteps;
                Epoch = step.Epoch;
                Loss = step.Loss;
                LearningRate = step.LearningRate;
                GradNorm = step.GradNorm;
                TokensPerSecond = step.TokensPerSecond;
                MemoryBytes = step.MemoryBytes;
                Elapsed = step.Elapsed;
                Remaining = step.Remaining ?? Estimate(step);
                return null;
            case EvaluationCompleted evaluation:
                LastEvaluation = (evaluation.Step, evaluation.EvalLoss);
                string metrics = string.Concat(evaluation.Metrics.Select(m => string.Create(CultureInfo.InvariantCulture, $", {m.Key} {m.Value:0.####}")));
                return Remember(string.Create(CultureInfo.InvariantCulture, $"eval at step {evaluation.Step}: eval_loss {evaluation.EvalLoss:0.####}{metrics}"));
            case CheckpointSaved checkpoint:
                LastCheckpoint = (checkpoint.Step, checkpoint.Path);
                return Remember($"checkpoint at step {checkpoint.Step}: {checkpoint.Path}");
            case TrainingLog line:
                return Remember(line.Level == TrainingLogLevel.Warning ? "warning: " + line.Message : line.Message);
            case TrainingFinished finished:
                Outcome = finished.Outcome;
                Step = finished.Step;
                Elapsed = finished.Elapsed;
                Remaining = TimeSpan.Zero;
                return null;
            default:
                return null;
        }
    }

    /// <summary>Fraction of the steps done, in [0, 1].</summary>
    public double Fraction => TotalSteps <= 0 ? 0 : Math.Clamp((double)Step / TotalSteps, 0, 1);

    /// <summary>The metrics line: "step 12/40 (30%) | epoch 0.90 | loss 1.2345 | lr 9.50e-05 | 812 tok/s | mem 1.4 GiB | elapsed 00:00:31 | eta 00:01:12".</summary>
    public string StatusLine()
    {
        var parts = new List<string> { string.Create(CultureInfo.InvariantCulture, $"step {Step}/{TotalSteps} ({Fraction * 100:0}%)") };
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"epoch {Epoch:0.00}"));
        if (Loss is { } loss) parts.Add(string.Create(CultureInfo.InvariantCulture, $"loss {loss:0.0000}"));
        if (LearningRate is { } lr) parts.Add(string.Create(CultureInfo.InvariantCulture, $"lr {lr:0.00e+00}"));
        if (GradNorm is { } norm) parts.Add(string.Create(CultureInfo.InvariantCulture, $"grad {norm:0.###}"));
        if (TokensPerSecond is { } speed) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{speed:0} tok/s"));
        if (MemoryBytes is { } memory) parts.Add("mem " + Bytes(memory));
        parts.Add("elapsed " + Clock(Elapsed));
        parts.Add("eta " + (Remaining is { } eta ? Clock(eta) : "--:--:--"));
        return string.Join(" | ", parts);
    }

    /// <summary>Time left at the pace so far: elapsed per step times the steps still to take.</summary>
    static TimeSpan? Estimate(StepCompleted step) =>
        step.Step > 0 && step.TotalSteps >= step.Step
            ? TimeSpan.FromTicks(step.Elapsed.Ticks / step.Step * (step.TotalSteps - step.Step))
            : null;

    string Remember(string line)
    {
        log.Enqueue(line);
        while (log.Count > KeptLogLines) log.Dequeue();
        return line;
    }

    internal static string Clock(TimeSpan time) =>
        time.TotalHours >= 100 ? string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours}h")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours:00}:{time.Minutes:00}:{time.Seconds:00}");

    internal static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0} KiB"),
    };

    static string Count(long parameters) => parameters switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{parameters / 1e9:0.##}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{parameters / 1e6:0.##}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{parameters / 1e3:0.##}K"),
        _ => parameters.ToString(CultureInfo.InvariantCulture),
    };
}
