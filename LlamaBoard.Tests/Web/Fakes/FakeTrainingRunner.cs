using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Tests.Web.Fakes;

/// <summary>
/// A deterministic stand-in for the trainer: reports the events a real run reports (started, a step each
/// <see cref="StepDelay"/> with a decaying loss, evaluations, checkpoints written as folders, log lines, finished),
/// honours the stop token at step boundaries with a checkpoint, resumes from resume_from_checkpoint, and can fail.
/// </summary>
public sealed class FakeTrainingRunner : ITrainingRunner
{
    /// <summary>Steps of a run.</summary>
    public int TotalSteps { get; init; } = 20;

    /// <summary>Time each step takes.</summary>
    public TimeSpan StepDelay { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Throws after reporting this step; null never fails.</summary>
    public int? FailAtStep { get; init; }

    /// <summary>Steps between evaluations; 0 for none.</summary>
    public int EvalEvery { get; init; } = 5;

    /// <summary>Steps between checkpoints.</summary>
    public int SaveEvery { get; init; } = 5;

    /// <summary>Released before each step when set: lets a test hold the run at a known step.</summary>
    public SemaphoreSlim? Gate { get; init; }

    /// <summary>The options of each call, in order.</summary>
    public List<LlamaBoardOptions> Calls { get; } = [];

    /// <summary>The loss the fake reports at a step.</summary>
    public static double LossAt(int step) => 2.0 * Math.Exp(-step / 15.0) + 0.05 * ((step * 7) % 5) / 5.0 + 0.3;

    public async Task<TrainingResult> RunAsync(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stopRequested)
    {
        lock (Calls) Calls.Add(options);
        string output = options.Training.OutputDir ?? throw new InvalidOperationException("output_dir: required");
        Directory.CreateDirectory(output);
        int start = 0;
        if (options.Training.ResumeFromCheckpoint is { } checkpoint)
            start = int.Parse(Path.GetFileName(checkpoint)["checkpoint-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        progress.Report(new TrainingStarted(options.Finetuning.Stage, TotalSteps, 1.0, 1000, 100000, "cpu", output, start));
        progress.Report(new TrainingLog(TrainingLogLevel.Info, $"fake trainer: {TotalSteps} steps"));
        var elapsed = TimeSpan.Zero;
        string? lastCheckpoint = null;
        int step = start;
        while (step < TotalSteps)
        {
            if (stopRequested.IsCancellationRequested)
            {
                lastCheckpoint = SaveCheckpoint(output, step, progress);
                progress.Report(new TrainingFinished(TrainingOutcome.Stopped, step, elapsed));
                return new TrainingResult(TrainingOutcome.Stopped, step, output, lastCheckpoint);
            }
            if (Gate is not null) await Gate.WaitAsync(CancellationToken.None);
            await Task.Delay(StepDelay, CancellationToken.None);
            step++;
            elapsed += StepDelay;
            progress.Report(new StepCompleted(step, TotalSteps, (double)step / TotalSteps, LossAt(step), 1e-4 * (1 - (double)step / TotalSteps),
                                              0.5, 1000 + step, step * 512L, 100_000_000 + step * 1000L, elapsed));
            if (FailAtStep == step)
            {
                progress.Report(new TrainingLog(TrainingLogLevel.Warning, "loss is about to become NaN"));
                throw new InvalidOperationException($"out of memory at step {step}: lower per_device_train_batch_size");
            }
            if (EvalEvery > 0 && step % EvalEvery == 0)
                progress.Report(new EvaluationCompleted(step, LossAt(step) + 0.1, new Dictionary<string, double> { ["accuracy"] = 0.5 }));
            if (step % SaveEvery == 0)
                lastCheckpoint = SaveCheckpoint(output, step, progress);
        }
        File.WriteAllText(Path.Combine(output, "adapter_config.json"), "{\"peft_type\": \"LORA\"}");
        progress.Report(new TrainingFinished(TrainingOutcome.Completed, step, elapsed));
        return new TrainingResult(TrainingOutcome.Completed, step, output, lastCheckpoint);
    }

    static string SaveCheckpoint(string output, int step, IProgress<TrainingEvent> progress)
    {
        string folder = Path.Combine(output, $"checkpoint-{step}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), "{\"peft_type\": \"LORA\"}");
        progress.Report(new CheckpointSaved(step, folder));
        return folder;
    }
}
