using System.Text.Json;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Monitoring;

namespace LlamaBoard.Web.Jobs;

/// <summary>
/// Collects a job's metric points and log lines and writes them to the history in batches (one transaction per
/// flush), with the run row's step, losses and checkpoint. Used by one job's event pump only.
/// </summary>
internal sealed class JobRecorder(RunHistory history, int runId, int firstLogSequence)
{
    /// <summary>Points or lines that trigger a flush before the time limit.</summary>
    public const int BatchSize = 64;

    /// <summary>Longest time a point waits in memory before it is written.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    readonly List<MetricPoint> points = [];
    readonly List<RunLogLine> logs = [];
    int sequence = firstLogSequence;
    DateTime lastFlush = DateTime.UtcNow;
    int step, totalSteps;
    double? finalLoss, bestLoss, bestEvalLoss;
    bool rowChanged;

    /// <summary>True when enough is waiting, or it has waited long enough.</summary>
    public bool Due => points.Count + logs.Count >= BatchSize || (points.Count + logs.Count > 0 || rowChanged) && DateTime.UtcNow - lastFlush >= FlushInterval;

    /// <summary>Starts from the values already in the history (a resumed run keeps its best loss).</summary>
    public void Seed(RunRecord run)
    {
        bestLoss = run.BestLoss;
        bestEvalLoss = run.BestEvalLoss;
    }

    public void Add(TrainingEvent e)
    {
        switch (e)
        {
            case TrainingStarted started:
                totalSteps = started.TotalSteps;
                rowChanged = true;
                break;
            case StepCompleted s:
                points.Add(new MetricPoint
                {
                    RunId = runId, Kind = MetricKind.Train, Step = s.Step, Epoch = s.Epoch, Loss = s.Loss, LearningRate = s.LearningRate,
                    GradNorm = s.GradNorm, TokensPerSecond = s.TokensPerSecond, TotalTokens = s.TotalTokens, MemoryBytes = s.MemoryBytes,
                    ElapsedSeconds = s.Elapsed.TotalSeconds,
                });
                step = s.Step;
                totalSteps = s.TotalSteps;
                finalLoss = s.Loss;
                if (double.IsFinite(s.Loss) && (bestLoss is null || s.Loss < bestLoss)) bestLoss = s.Loss;
                rowChanged = true;
                break;
            case EvaluationCompleted evaluation:
                points.Add(new MetricPoint
                {
                    RunId = runId, Kind = MetricKind.Eval, Step = evaluation.Step, Loss = evaluation.EvalLoss,
                    MetricsJson = evaluation.Metrics.Count == 0 ? null : JsonSerializer.Serialize(evaluation.Metrics),
                });
                if (double.IsFinite(evaluation.EvalLoss) && (bestEvalLoss is null || evaluation.EvalLoss < bestEvalLoss)) bestEvalLoss = evaluation.EvalLoss;
                rowChanged = true;
                break;
            case CheckpointSaved:
                rowChanged = true;
                break;
        }
    }

    public void Add(LogEntry line) =>
        logs.Add(new RunLogLine { RunId = runId, Sequence = ++sequence, Time = line.Time, Level = line.Level, Message = line.Message });

    /// <summary>Writes what is waiting; <paramref name="job"/> supplies the checkpoint for the run row.</summary>
    public async Task FlushAsync(TrainingJob job)
    {
        lastFlush = DateTime.UtcNow;
        if (points.Count + logs.Count == 0 && !rowChanged) return;
        var pointBatch = points.ToArray();
        var logBatch = logs.ToArray();
        points.Clear();
        logs.Clear();
        await history.AppendAsync(pointBatch, logBatch);
        if (!rowChanged) return;
        rowChanged = false;
        var (checkpoint, checkpointStep) = job.Checkpoint;
        await history.UpdateAsync(runId, run =>
        {
            if (step > 0) run.Step = step;
            if (totalSteps > 0) run.TotalSteps = totalSteps;
            run.FinalLoss = finalLoss ?? run.FinalLoss;
            run.BestLoss = bestLoss;
            run.BestEvalLoss = bestEvalLoss;
            if (checkpoint is not null)
            {
                run.LastCheckpoint = checkpoint;
                run.LastCheckpointStep = checkpointStep;
            }
        });
    }
}
