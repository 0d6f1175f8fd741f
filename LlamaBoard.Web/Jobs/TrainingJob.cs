using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Monitoring;

namespace LlamaBoard.Web.Jobs;

/// <summary>What a view shows of a job at one moment: a copy, safe to keep while the job goes on.</summary>
public sealed record JobView(int RunId, string Name, string Device, string OutputDir, RunStatus Status, string? Error,
                             DateTime QueuedAt, DateTime? StartedAt, DateTime? FinishedAt, string? LastCheckpoint,
                             RunTimeline Timeline)
{
    /// <summary>Wall time since the job started (to its end when finished).</summary>
    public TimeSpan Elapsed => StartedAt is { } started ? (FinishedAt ?? DateTime.UtcNow) - started : TimeSpan.Zero;
}

/// <summary>
/// One training job while the board runs it: its options, status and full history in memory (steps, evaluations,
/// recent log lines), so that any browser can attach to it mid-run. Thread-safe: the job's event pump writes, views
/// read copies through <see cref="View"/>.
/// </summary>
public sealed class TrainingJob
{
    readonly Lock gate = new();
    readonly RunTimeline timeline;
    readonly CancellationTokenSource stop = new();
    RunStatus status = RunStatus.Queued;
    string? error;
    DateTime? startedAt, finishedAt;
    string? lastCheckpoint;
    int? lastCheckpointStep;

    internal TrainingJob(int runId, string name, string device, LlamaBoardOptions options, RunTimeline? history = null)
    {
        RunId = runId;
        Name = name;
        Device = device;
        Options = options;
        timeline = history ?? new RunTimeline();
        QueuedAt = DateTime.UtcNow;
        OutputDir = options.Training.OutputDir ?? "";
    }

    /// <summary>The run's id in the history.</summary>
    public int RunId { get; }

    /// <summary>The run's name.</summary>
    public string Name { get; }

    /// <summary>The device lane: one job at a time per value.</summary>
    public string Device { get; }

    /// <summary>The options the trainer gets (a private copy; do not change).</summary>
    public LlamaBoardOptions Options { get; }

    /// <summary>output_dir.</summary>
    public string OutputDir { get; }

    /// <summary>When the job entered the queue.</summary>
    public DateTime QueuedAt { get; }

    /// <summary>The current status.</summary>
    public RunStatus Status
    {
        get
        {
            lock (gate) return status;
        }
    }

    /// <summary>The stop request the trainer watches.</summary>
    internal CancellationToken StopToken => stop.Token;

    /// <summary>True once Abort was pressed (or the board is shutting down).</summary>
    public bool StopRequested => stop.IsCancellationRequested;

    /// <summary>The last checkpoint and its step, for the history.</summary>
    internal (string? Path, int? Step) Checkpoint
    {
        get
        {
            lock (gate) return (lastCheckpoint, lastCheckpointStep);
        }
    }

    /// <summary>A copy of the job's state and history.</summary>
    public JobView View()
    {
        lock (gate)
            return new JobView(RunId, Name, Device, OutputDir, status, error, QueuedAt, startedAt, finishedAt, lastCheckpoint, timeline.Copy());
    }

    /// <summary>Asks the trainer to stop at the next step boundary; true when this changed anything.</summary>
    internal bool RequestStop()
    {
        lock (gate)
        {
            if (!status.IsActive() || stop.IsCancellationRequested) return false;
            if (status == RunStatus.Running) status = RunStatus.Stopping;
        }
        stop.Cancel();
        return true;
    }

    internal void MarkRunning()
    {
        lock (gate)
        {
            startedAt = DateTime.UtcNow;
            if (status == RunStatus.Queued) status = stop.IsCancellationRequested ? RunStatus.Stopping : RunStatus.Running;
        }
    }

    internal void MarkFinished(RunStatus final, string? message)
    {
        lock (gate)
        {
            status = final;
            error = message;
            finishedAt = DateTime.UtcNow;
        }
    }

    /// <summary>Adds an event to the history and returns the log line the board writes for it, if any.</summary>
    internal LogEntry? Apply(TrainingEvent e)
    {
        var now = DateTime.UtcNow;
        lock (gate)
        {
            LogEntry? line = null;
            switch (e)
            {
                case TrainingStarted started:
                    timeline.TotalSteps = started.TotalSteps;
                    timeline.StartStep = started.StartStep;
                    line = new LogEntry(now, "info", Describe(started));
                    break;
                case StepCompleted step:
                    timeline.TotalSteps = step.TotalSteps;
                    timeline.Steps.Add(step);
                    break;
                case EvaluationCompleted evaluation:
                    timeline.Evaluations.Add(evaluation);
                    line = new LogEntry(now, "info", $"evaluation at step {evaluation.Step}: eval_loss {evaluation.EvalLoss:0.####}" +
                        string.Concat(evaluation.Metrics.Select(m => $", {m.Key} {m.Value:0.####}")));
                    break;
                case CheckpointSaved checkpoint:
                    lastCheckpoint = checkpoint.Path;
                    lastCheckpointStep = checkpoint.Step;
                    line = new LogEntry(now, "info", $"checkpoint at step {checkpoint.Step}: {checkpoint.Path}");
                    break;
                case TrainingLog log:
                    line = new LogEntry(now, LogEntry.LevelName(log.Level), log.Message);
                    break;
                case TrainingFinished finished:
                    line = new LogEntry(now, "info",
                        $"{(finished.Outcome == TrainingOutcome.Completed ? "finished" : "stopped")} at step {finished.Step} after {finished.Elapsed:hh\\:mm\\:ss}");
                    break;
            }
            if (line is not null) timeline.AddLog(line);
            return line;
        }
    }

    /// <summary>Adds a line the board itself writes (failures, queue messages).</summary>
    internal LogEntry AddLog(string level, string message)
    {
        var line = new LogEntry(DateTime.UtcNow, level, message);
        lock (gate) timeline.AddLog(line);
        return line;
    }

    static string Describe(TrainingStarted s)
    {
        string share = s.TotalParameters > 0 ? $" ({100.0 * s.TrainableParameters / s.TotalParameters:0.###}%)" : "";
        string resume = s.StartStep > 0 ? $", resuming from step {s.StartStep}" : "";
        return $"started {s.TotalSteps} steps ({s.Epochs:0.##} epochs) on {s.Device}; trainable parameters {s.TrainableParameters:N0} of {s.TotalParameters:N0}{share}{resume}";
    }
}
