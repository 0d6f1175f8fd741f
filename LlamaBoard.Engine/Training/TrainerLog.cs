using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// Writes the output folder's logs the way LLaMA-Factory does, so tools that read its runs read ours:
/// <c>trainer_log.jsonl</c> (one JSON object per logged step, LLaMA-Factory's field names) and
/// <c>running_log.txt</c> (human-readable lines).
/// </summary>
public sealed class TrainerLog
{
    /// <summary>The JSON-lines metrics file name.</summary>
    public const string MetricsFileName = "trainer_log.jsonl";
    /// <summary>The text log file name.</summary>
    public const string TextFileName = "running_log.txt";

    readonly string metricsPath;
    readonly string textPath;
    readonly Lock gate = new();

    /// <summary>Logs into <paramref name="outputDir"/>, which is created if needed.</summary>
    public TrainerLog(string outputDir)
    {
        Directory.CreateDirectory(outputDir);
        metricsPath = Path.Combine(outputDir, MetricsFileName);
        textPath = Path.Combine(outputDir, TextFileName);
    }

    /// <summary>
    /// Appends the record for <paramref name="evt"/>: logged steps and evaluations go to both files, everything
    /// else to running_log.txt. Steps are written to trainer_log.jsonl only every <paramref name="loggingSteps"/>
    /// (and at the last step), as LLaMA-Factory does.
    /// </summary>
    public void Write(TrainingEvent evt, int loggingSteps = 1)
    {
        switch (evt)
        {
            case StepCompleted step:
                if (step.Step % Math.Max(1, loggingSteps) != 0 && step.Step != step.TotalSteps) break;
                AppendMetrics(ToJson(step));
                var (reward, accuracy) = RewardAndAccuracy(step.Metrics);
                string extra = (reward is { } r ? FormattableString.Invariant($", 'reward': {r:0.00}") : "")
                               + (accuracy is { } a ? FormattableString.Invariant($", 'accuracy': {a:0.00}") : "");
                AppendText(FormattableString.Invariant(
                    $"{{'loss': {step.Loss:0.0000}, 'learning_rate': {step.LearningRate:0.0000e+00}, 'epoch': {step.Epoch:0.00}{extra}, 'throughput': {step.TokensPerSecond:0.00}}}"));
                break;
            case EvaluationCompleted eval:
                AppendMetrics(ToJson(eval, lastTotalSteps));
                AppendText(FormattableString.Invariant($"{{'eval_loss': {eval.EvalLoss:0.0000}}}"));
                break;
            case TrainingStarted started:
                lastTotalSteps = started.TotalSteps;
                AppendText(FormattableString.Invariant(
                    $"Training {started.Stage} on {started.Device}: {started.TotalSteps} steps, {started.TrainableParameters:N0} trainable of {started.TotalParameters:N0} parameters"));
                break;
            case CheckpointSaved checkpoint:
                AppendText($"Saving model checkpoint to {checkpoint.Path}");
                break;
            case TrainingLog line:
                AppendText(line.Level == TrainingLogLevel.Warning ? "WARNING " + line.Message : line.Message);
                break;
            case TrainingFinished finished:
                AppendText($"Training {finished.Outcome.ToString().ToLowerInvariant()} at step {finished.Step} after {FormatDuration(finished.Elapsed)}");
                break;
        }
    }

    int lastTotalSteps;

    /// <summary>LLaMA-Factory's trainer_log.jsonl record for a training step.</summary>
    public static JsonObject ToJson(StepCompleted step)
    {
        var remaining = step.Remaining ?? (step.Step == 0 ? TimeSpan.Zero
            : TimeSpan.FromSeconds(step.Elapsed.TotalSeconds / step.Step * (step.TotalSteps - step.Step)));
        var json = Progress(step.Step, step.TotalSteps, step.Elapsed, remaining);
        json["loss"] = Math.Round(step.Loss, 4);
        var (reward, accuracy) = RewardAndAccuracy(step.Metrics);
        if (reward is { } r) json["reward"] = Math.Round(r, 4);
        if (accuracy is { } a) json["accuracy"] = a;
        json["lr"] = step.LearningRate;
        json["epoch"] = Math.Round(step.Epoch, 4);
        if (step.GradNorm is { } norm) json["grad_norm"] = Math.Round(norm, 4);
        if (step.TotalTokens > 0)
        {
            json["throughput"] = Math.Round(step.TokensPerSecond, 2);
            json["total_tokens"] = step.TotalTokens;
        }
        // The stage's own metrics follow LLaMA-Factory's fields, under TRL's names.
        foreach (var (key, value) in step.Metrics ?? new Dictionary<string, double>())
            if (!json.ContainsKey(key)) json[key] = value;
        return Order(json);
    }

    /// <summary>
    /// LLaMA-Factory's <c>reward</c> (PPO's mean reward) and <c>accuracy</c> (rewards/accuracies of dpo; a reward
    /// model's accuracy) fields, from a step's metrics.
    /// </summary>
    public static (double? Reward, double? Accuracy) RewardAndAccuracy(IReadOnlyDictionary<string, double>? metrics)
    {
        if (metrics is null) return (null, null);
        double? reward = metrics.TryGetValue("reward", out double r) ? r : null;
        double? accuracy = metrics.TryGetValue("rewards/accuracies", out double a) ? a
                         : metrics.TryGetValue("accuracy", out double b) ? b : null;
        return (reward, accuracy);
    }

    /// <summary>LLaMA-Factory's trainer_log.jsonl record for an evaluation.</summary>
    public static JsonObject ToJson(EvaluationCompleted eval, int totalSteps)
    {
        var json = Progress(eval.Step, totalSteps, TimeSpan.Zero, TimeSpan.Zero);
        json.Remove("elapsed_time");
        json.Remove("remaining_time");
        json["eval_loss"] = Math.Round(eval.EvalLoss, 4);
        foreach (var (key, value) in eval.Metrics) json[key] = value;
        return Order(json);
    }

    /// <summary>Python's <c>str(timedelta(seconds=int(s)))</c>: "0:01:05", "1 day, 2:03:04".</summary>
    public static string FormatDuration(TimeSpan span)
    {
        long seconds = Math.Max(0, (long)span.TotalSeconds);
        long days = seconds / 86400;
        var clock = string.Create(CultureInfo.InvariantCulture, $"{seconds % 86400 / 3600}:{seconds % 3600 / 60:00}:{seconds % 60:00}");
        return days == 0 ? clock : $"{days} day{(days == 1 ? "" : "s")}, {clock}";
    }

    static JsonObject Progress(long step, long total, TimeSpan elapsed, TimeSpan remaining) => new()
    {
        ["current_steps"] = step,
        ["total_steps"] = total,
        ["percentage"] = total == 0 ? 100 : Math.Round(step * 100.0 / total, 2),
        ["elapsed_time"] = FormatDuration(elapsed),
        ["remaining_time"] = FormatDuration(remaining),
    };

    // LLaMA-Factory writes keys in this order; keep it so diffs against its logs stay readable.
    static readonly string[] KeyOrder =
        ["current_steps", "total_steps", "loss", "eval_loss", "reward", "accuracy", "lr", "epoch", "percentage", "elapsed_time", "remaining_time",
         "throughput", "total_tokens"];

    static JsonObject Order(JsonObject json)
    {
        var ordered = new JsonObject();
        foreach (var key in KeyOrder.Where(json.ContainsKey)) ordered[key] = json[key]!.DeepClone();
        foreach (var (key, value) in json.Where(kv => !KeyOrder.Contains(kv.Key))) ordered[key] = value!.DeepClone();
        return ordered;
    }

    void AppendMetrics(JsonObject json) => Append(metricsPath, json.ToJsonString(JsonOptions) + "\n");

    void AppendText(string line) => Append(textPath, $"[{DateTime.Now:yyyy-MM-dd HH:mm:ss}] {line}\n");

    void Append(string path, string text)
    {
        lock (gate) File.AppendAllText(path, text, Utf8NoBom);
    }

    static readonly UTF8Encoding Utf8NoBom = new(false);
    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };
}
