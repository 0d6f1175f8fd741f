using System.Threading.Channels;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Monitoring;
using LlamaBoard.Web.Settings;
using Microsoft.Extensions.Options;

namespace LlamaBoard.Web.Jobs;

/// <summary>
/// The board's training job service: a queue where one job per device runs at a time and the others wait, visible.
/// Each job runs the <see cref="ITrainingRunner"/> from <see cref="TrainerRegistration"/>; its events go through an
/// in-order pump into the job's in-memory history, the run history (batched) and the <see cref="JobNotifier"/>.
/// Abort cancels the job's stop token (the trainer stops at a step boundary). At start-up, runs the previous process
/// left active are marked interrupted and can be resumed from their last checkpoint.
/// </summary>
public sealed class JobQueue(RunHistory history, JobNotifier notifier, TrainerRegistration trainer,
                             IOptions<BoardSettings> settings, ILogger<JobQueue> logger) : BackgroundService
{
    readonly Lock gate = new();
    readonly List<TrainingJob> pending = [];
    readonly Dictionary<string, TrainingJob> running = new(StringComparer.Ordinal);
    readonly List<TrainingJob> finished = [];
    readonly List<Task> runningTasks = [];
    readonly SemaphoreSlim wake = new(0);
    readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Why Start is unavailable; null when a trainer is registered.</summary>
    public string? UnavailableReason => trainer.UnavailableReason;

    /// <summary>Running jobs, then queued ones in order, then recently finished ones (newest first).</summary>
    public IReadOnlyList<TrainingJob> Jobs
    {
        get
        {
            lock (gate) return [.. running.Values.OrderBy(j => j.QueuedAt), .. pending, .. finished.AsEnumerable().Reverse()];
        }
    }

    /// <summary>The job of a run while the board keeps it in memory; null otherwise (read the history then).</summary>
    public TrainingJob? Find(int runId)
    {
        lock (gate)
            return running.Values.FirstOrDefault(j => j.RunId == runId) ?? pending.Find(j => j.RunId == runId) ?? finished.Find(j => j.RunId == runId);
    }

    /// <summary>1-based place of a queued job in its device's line; 0 when it is not waiting.</summary>
    public int QueuePosition(int runId)
    {
        lock (gate)
        {
            int index = pending.FindIndex(j => j.RunId == runId);
            if (index < 0) return 0;
            string device = pending[index].Device;
            return pending.Take(index + 1).Count(j => j.Device == device);
        }
    }

    /// <summary>
    /// Adds a run to the history and the queue. The options must have passed validation for training; they are
    /// copied, so later edits of the form do not reach the job.
    /// </summary>
    public async Task<TrainingJob> EnqueueAsync(LlamaBoardOptions options, CancellationToken cancellation = default)
    {
        if (!trainer.IsAvailable) throw new InvalidOperationException(trainer.UnavailableReason);
        await started.Task.WaitAsync(cancellation);
        var copy = options.Clone();
        string device = DeviceLanes.For(copy.Model.Device);
        string outputDir = copy.Training.OutputDir ?? "";
        var record = new RunRecord
        {
            Name = copy.Training.RunName ?? (outputDir.Length > 0 ? Path.GetFileName(Path.TrimEndingDirectorySeparator(outputDir)) : "run"),
            ModelPath = copy.Model.ModelNameOrPath ?? "",
            Stage = OptionRegistry.Get("stage").ShowValue(copy),
            FinetuningType = OptionRegistry.Get("finetuning_type").ShowValue(copy),
            Datasets = string.Join(",", copy.Data.Dataset ?? []),
            OptionsYaml = OptionsWriter.ToYaml(copy),
            Status = RunStatus.Queued,
            Device = device,
            CreatedAt = DateTime.UtcNow,
            OutputDir = outputDir,
        };
        int runId = await history.AddAsync(record, cancellation);
        var job = new TrainingJob(runId, record.Name, device, copy);
        return Admit(job, new JobRecorder(history, runId, -1));
    }

    /// <summary>
    /// Continues a stopped or interrupted run from its last checkpoint (from the start when it has none): the same
    /// history row, its points up to the checkpoint kept, later ones dropped because the steps run again.
    /// </summary>
    public async Task<TrainingJob> ResumeAsync(int runId, CancellationToken cancellation = default)
    {
        if (!trainer.IsAvailable) throw new InvalidOperationException(trainer.UnavailableReason);
        await started.Task.WaitAsync(cancellation);
        var record = await history.GetAsync(runId, cancellation) ?? throw new InvalidOperationException($"Run {runId} is not in the history.");
        if (!record.Status.CanResume())
            throw new InvalidOperationException($"Run '{record.Name}' is {record.Status.ToString().ToLowerInvariant()}; only stopped or interrupted runs can be resumed.");
        var loaded = OptionsLoader.LoadYaml(record.OptionsYaml, $"run {runId}");
        if (!loaded.Result.IsValid)
            throw new InvalidOperationException($"Run '{record.Name}' has options that no longer load: {string.Join("; ", loaded.Result.Errors)}");
        var options = loaded.Options;
        bool hasCheckpoint = record.LastCheckpoint is { } path && Directory.Exists(path);
        options.Training.ResumeFromCheckpoint = hasCheckpoint ? record.LastCheckpoint : null;
        int keepUpTo = hasCheckpoint ? record.LastCheckpointStep ?? 0 : 0;
        await history.DeletePointsAfterAsync(runId, keepUpTo, cancellation);
        await history.UpdateAsync(runId, run =>
        {
            run.Status = RunStatus.Queued;
            run.Error = null;
            run.FinishedAt = null;
            run.OptionsYaml = OptionsWriter.ToYaml(options);
            run.Step = keepUpTo;
        }, cancellation);
        var timeline = await history.LoadTimelineAsync(runId, cancellation);
        var job = new TrainingJob(runId, record.Name, DeviceLanes.For(options.Model.Device), options, timeline);
        var recorder = new JobRecorder(history, runId, await history.LastLogSequenceAsync(runId, cancellation));
        recorder.Seed(record);
        var line = job.AddLog("info", hasCheckpoint ? $"resuming from {record.LastCheckpoint}" : "no checkpoint to resume from: starting again");
        recorder.Add(line);
        lock (gate) finished.RemoveAll(j => j.RunId == runId);
        return Admit(job, recorder);
    }

    /// <summary>
    /// Abort: a running job stops at its next step boundary (leaving a checkpoint); a queued job leaves the queue.
    /// Returns false when the run is not active here.
    /// </summary>
    public async Task<bool> AbortAsync(int runId)
    {
        TrainingJob? queued;
        lock (gate)
        {
            queued = pending.Find(j => j.RunId == runId);
            if (queued is not null) pending.Remove(queued);
        }
        if (queued is not null)
        {
            await FinishAsync(queued, null, RunStatus.Stopped, "aborted before it started", recorder: null);
            return true;
        }
        var job = Find(runId);
        if (job is null || !job.RequestStop()) return false;
        notifier.Publish(new JobChange(runId, job.Status, null));
        await history.UpdateAsync(runId, run => run.Status = RunStatus.Stopping);
        return true;
    }

    readonly Dictionary<int, JobRecorder> recorders = [];

    TrainingJob Admit(TrainingJob job, JobRecorder recorder)
    {
        lock (gate)
        {
            pending.Add(job);
            recorders[job.RunId] = recorder;
        }
        notifier.Publish(new JobChange(job.RunId, RunStatus.Queued, null));
        wake.Release();
        return job;
    }

    /// <inheritdoc/>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        int interrupted = await history.MarkInterruptedAsync(cancellationToken);
        if (interrupted > 0)
            logger.LogWarning("{Count} run(s) were active when LlamaBoard last stopped; they are marked interrupted and can be resumed", interrupted);
        started.TrySetResult();
        await base.StartAsync(cancellationToken);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await wake.WaitAsync(stoppingToken);
                StartWaitingJobs();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The board is shutting down: ask running jobs to stop at a step boundary, and wait for them.
            Task[] tasks;
            lock (gate)
            {
                foreach (var job in running.Values) job.RequestStop();
                tasks = [.. runningTasks];
            }
            await Task.WhenAll(tasks);
        }
    }

    void StartWaitingJobs()
    {
        lock (gate)
        {
            foreach (var job in pending.ToList())
            {
                if (running.ContainsKey(job.Device)) continue;
                pending.Remove(job);
                running[job.Device] = job;
                var recorder = recorders[job.RunId];
                recorders.Remove(job.RunId);
                Task task = null!;
                task = Task.Run(async () =>
                {
                    try
                    {
                        await RunAsync(job, recorder);
                    }
                    finally
                    {
                        lock (gate)
                        {
                            ReleaseDevice(job);
                            runningTasks.Remove(task);
                        }
                        wake.Release();
                    }
                });
                runningTasks.Add(task);
            }
        }
    }

    /// <summary>Takes the job off its device (under the lock); the next waiting job for that device may start.</summary>
    void ReleaseDevice(TrainingJob job)
    {
        if (running.TryGetValue(job.Device, out var current) && current == job) running.Remove(job.Device);
    }

    async Task RunAsync(TrainingJob job, JobRecorder recorder)
    {
        job.MarkRunning();
        await SafeHistory(() => history.UpdateAsync(job.RunId, run =>
        {
            run.Status = RunStatus.Running;
            run.StartedAt = DateTime.UtcNow;
        }), job);
        notifier.Publish(new JobChange(job.RunId, job.Status, null));

        var events = Channel.CreateUnbounded<TrainingEvent>(new UnboundedChannelOptions { SingleReader = true });
        var pump = PumpAsync(job, recorder, events.Reader);
        TrainingResult? result = null;
        Exception? failure = null;
        try
        {
            var runner = trainer.Create!();
            var progress = new ChannelProgress(events.Writer);
            result = await Task.Run(() => runner.RunAsync(job.Options.Clone(), progress, job.StopToken));
        }
        catch (OperationCanceledException) when (job.StopRequested)
        {
            // The runner threw instead of returning Stopped: still the requested stop.
        }
        catch (Exception e)
        {
            failure = e;
            logger.LogError(e, "Run {RunId} ({Name}) failed", job.RunId, job.Name);
        }
        finally
        {
            events.Writer.TryComplete();
            await pump;
        }

        if (failure is not null)
            await FinishAsync(job, null, RunStatus.Failed, FailureMessage(failure), recorder);
        else if (result is null || result.Outcome == TrainingOutcome.Stopped)
            await FinishAsync(job, result, RunStatus.Stopped, null, recorder);
        else
            await FinishAsync(job, result, RunStatus.Completed, null, recorder);
    }

    /// <summary>The message a failed run shows: the exception's own, with its innermost cause when that says more.</summary>
    static string FailureMessage(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        return inner == e || e.Message.Contains(inner.Message, StringComparison.Ordinal) ? e.Message : $"{e.Message} ({inner.Message})";
    }

    async Task FinishAsync(TrainingJob job, TrainingResult? result, RunStatus status, string? error, JobRecorder? recorder)
    {
        recorder ??= new JobRecorder(history, job.RunId, await history.LastLogSequenceAsync(job.RunId));
        if (error is not null)
            recorder.Add(job.AddLog(status == RunStatus.Failed ? "error" : "info", status == RunStatus.Failed ? $"failed: {error}" : error));
        if (result?.CheckpointDir is { } checkpoint && job.Checkpoint.Path is null)
            job.Apply(new CheckpointSaved(result.Step, checkpoint));
        await SafeHistory(() => recorder.FlushAsync(job), job);
        job.MarkFinished(status, status == RunStatus.Failed ? error : null);
        await SafeHistory(() => history.UpdateAsync(job.RunId, run =>
        {
            run.Status = status;
            run.Error = status == RunStatus.Failed ? error : null;
            run.FinishedAt = DateTime.UtcNow;
            if (result is not null) run.Step = result.Step;
            if (job.Checkpoint is { Path: { } path, Step: var step })
            {
                run.LastCheckpoint = path;
                run.LastCheckpointStep = step;
            }
        }), job);
        lock (gate)
        {
            // Free the device before telling anyone, so a refreshed job list shows the job once, as finished.
            ReleaseDevice(job);
            finished.RemoveAll(j => j.RunId == job.RunId);
            finished.Add(job);
            int keep = Math.Max(1, settings.Value.FinishedJobsKept);
            if (finished.Count > keep) finished.RemoveRange(0, finished.Count - keep);
        }
        notifier.Publish(new JobChange(job.RunId, status, null));
    }

    /// <summary>Moves events from the runner to the job's history, the run history and the live views, in order.</summary>
    async Task PumpAsync(TrainingJob job, JobRecorder recorder, ChannelReader<TrainingEvent> reader)
    {
        while (true)
        {
            bool more;
            using (var wait = new CancellationTokenSource(JobRecorder.FlushInterval))
            {
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    more = true; // nothing new for a while: flush what waits
                }
            }
            while (reader.TryRead(out var e))
            {
                var line = job.Apply(e);
                recorder.Add(e);
                if (line is not null) recorder.Add(line);
                notifier.Publish(new JobChange(job.RunId, job.Status, e));
            }
            if (recorder.Due || !more) await SafeHistory(() => recorder.FlushAsync(job), job);
            if (!more) return;
        }
    }

    /// <summary>A history write that fails (disk full, locked file) is logged; it must not end the training.</summary>
    async Task SafeHistory(Func<Task> write, TrainingJob job)
    {
        try
        {
            await write();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Could not write run {RunId} to the history", job.RunId);
            job.AddLog("warning", $"could not write to the run history: {e.Message}");
        }
    }

    /// <summary>Reports events into the job's channel, synchronously and in order, never blocking the trainer.</summary>
    sealed class ChannelProgress(ChannelWriter<TrainingEvent> writer) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value) => writer.TryWrite(value);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        wake.Dispose();
        base.Dispose();
    }
}
