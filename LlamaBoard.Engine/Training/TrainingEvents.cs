namespace LlamaBoard.Engine.Training;

/// <summary>Where a run is in its life.</summary>
public enum RunState
{
    /// <summary>Loading tokenizer, data and model.</summary>
    Preparing,
    /// <summary>The training loop is running.</summary>
    Running,
    /// <summary>Writing a checkpoint or the final model.</summary>
    Saving,
    /// <summary>Finished all steps.</summary>
    Completed,
    /// <summary>Stopped on request at a step boundary, with a resumable checkpoint.</summary>
    Aborted,
    /// <summary>Stopped by an error.</summary>
    Failed,
}

/// <summary>
/// The small event stream a training run emits. The board (SignalR), the run history (SQLite), the CLI progress
/// bar and the output folder's logs all consume the same records.
/// </summary>
public abstract record TrainingEvent
{
    /// <summary>When the event happened.</summary>
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>Metrics of one logged optimizer step (every <c>logging_steps</c>).</summary>
/// <param name="Step">Optimizer steps done (1-based, as HF's global_step).</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Loss">Mean training loss per target token over the steps since the last log.</param>
/// <param name="LearningRate">Learning rate of the first parameter group at this step.</param>
/// <param name="GradNorm">Global gradient norm before clipping, or null when not computed.</param>
/// <param name="Epoch">Fractional epoch, for example 1.25.</param>
/// <param name="TokensPerSecond">Non-padding tokens per second since the run (or resume) began.</param>
/// <param name="TotalTokens">Non-padding input tokens seen so far.</param>
/// <param name="Elapsed">Wall time since the run (or resume) began.</param>
/// <param name="Remaining">Estimated time to the last step.</param>
/// <param name="ResidentBytes">Process resident memory.</param>
/// <param name="DeviceBytes">GPU memory in use (NVML), or null on CPU.</param>
public sealed record StepMetrics(
    long Step, long TotalSteps, double Loss, double LearningRate, double? GradNorm, double Epoch,
    double TokensPerSecond, long TotalTokens, TimeSpan Elapsed, TimeSpan Remaining, long ResidentBytes, long? DeviceBytes) : TrainingEvent;

/// <summary>An evaluation on the validation split.</summary>
public sealed record EvalMetrics(long Step, long TotalSteps, double EvalLoss, double Epoch, IReadOnlyDictionary<string, double>? Extra = null) : TrainingEvent;

/// <summary>A change of <see cref="RunState"/>, with a human-readable note (the error for <see cref="RunState.Failed"/>).</summary>
public sealed record StateChanged(RunState State, string? Message = null) : TrainingEvent;

/// <summary>A checkpoint folder was written completely.</summary>
public sealed record CheckpointSaved(long Step, string Path) : TrainingEvent;

/// <summary>A line for the run's log (also written to running_log.txt).</summary>
public sealed record LogLine(string Text, bool IsWarning = false) : TrainingEvent;
