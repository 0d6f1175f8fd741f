using System.Globalization;
using System.Text.Json;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Monitoring;
using Microsoft.EntityFrameworkCore;

namespace LlamaBoard.Web.Data;

/// <summary>Which runs the Runs page lists, and in which order.</summary>
/// <param name="Text">Part of the name, model, datasets or stage; empty for all.</param>
/// <param name="Status">Only runs with this status; null for all.</param>
/// <param name="SortBy">The column to sort by.</param>
/// <param name="Descending">Largest first.</param>
public sealed record RunQuery(string? Text = null, RunStatus? Status = null, RunSort SortBy = RunSort.Created, bool Descending = true);

/// <summary>Columns the Runs page sorts by.</summary>
public enum RunSort
{
    Created,
    Name,
    Model,
    Status,
    FinalLoss,
    BestLoss,
}

/// <summary>
/// The run history in SQLite: creates and updates runs, appends their metric points and log lines in batches,
/// and reads them back for the Runs page, run pages and Resume. Each call uses its own short-lived context, so the
/// job service and many circuits can share one instance.
/// </summary>
public sealed class RunHistory(IDbContextFactory<RunHistoryContext> contexts)
{
    /// <summary>Applies the migrations and turns on write-ahead logging (readers do not block the job's writer).</summary>
    public async Task InitializeAsync(CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        await db.Database.MigrateAsync(cancellation);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellation);
    }

    /// <summary>Adds a run and returns its id.</summary>
    public async Task<int> AddAsync(RunRecord run, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellation);
        return run.Id;
    }

    /// <summary>Changes a run's row.</summary>
    public async Task UpdateAsync(int runId, Action<RunRecord> change, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        var run = await db.Runs.FindAsync([runId], cancellation)
                  ?? throw new InvalidOperationException($"Run {runId} is not in the history.");
        change(run);
        await db.SaveChangesAsync(cancellation);
    }

    /// <summary>Appends metric points and log lines in one transaction (the job service batches them).</summary>
    public async Task AppendAsync(IReadOnlyCollection<MetricPoint> points, IReadOnlyCollection<RunLogLine> logs, CancellationToken cancellation = default)
    {
        if (points.Count == 0 && logs.Count == 0) return;
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        db.Metrics.AddRange(points);
        db.Logs.AddRange(logs);
        await db.SaveChangesAsync(cancellation);
    }

    /// <summary>
    /// Marks runs that were queued, running or stopping when the process ended as interrupted; returns how many.
    /// Called once at start-up, before any new job.
    /// </summary>
    public async Task<int> MarkInterruptedAsync(CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        var active = await db.Runs.Where(r => r.Status == RunStatus.Queued || r.Status == RunStatus.Running || r.Status == RunStatus.Stopping)
            .ToListAsync(cancellation);
        foreach (var run in active)
        {
            run.Error = $"LlamaBoard stopped while this run was {run.Status.ToString().ToLowerInvariant()}" +
                        (run.LastCheckpoint is null ? "; no checkpoint was saved, so Resume starts it again." : $"; Resume continues from {run.LastCheckpoint}.");
            run.Status = RunStatus.Interrupted;
            run.FinishedAt ??= DateTime.UtcNow;
        }
        await db.SaveChangesAsync(cancellation);
        return active.Count;
    }

    /// <summary>Runs matching <paramref name="query"/>, without their points.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(RunQuery query, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        IQueryable<RunRecord> runs = db.Runs.AsNoTracking();
        if (query.Status is { } status) runs = runs.Where(r => r.Status == status);
        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            string text = query.Text.Trim().ToLower(CultureInfo.InvariantCulture);
            runs = runs.Where(r => r.Name.ToLower().Contains(text) || r.ModelPath.ToLower().Contains(text)
                                   || r.Datasets.ToLower().Contains(text) || r.Stage.ToLower() == text || r.FinetuningType.ToLower() == text);
        }
        runs = (query.SortBy, query.Descending) switch
        {
            (RunSort.Name, false) => runs.OrderBy(r => r.Name),
            (RunSort.Name, true) => runs.OrderByDescending(r => r.Name),
            (RunSort.Model, false) => runs.OrderBy(r => r.ModelPath),
            (RunSort.Model, true) => runs.OrderByDescending(r => r.ModelPath),
            (RunSort.Status, false) => runs.OrderBy(r => r.Status),
            (RunSort.Status, true) => runs.OrderByDescending(r => r.Status),
            // Runs without a loss go last either way.
            (RunSort.FinalLoss, false) => runs.OrderBy(r => r.FinalLoss == null).ThenBy(r => r.FinalLoss),
            (RunSort.FinalLoss, true) => runs.OrderBy(r => r.FinalLoss == null).ThenByDescending(r => r.FinalLoss),
            (RunSort.BestLoss, false) => runs.OrderBy(r => r.BestLoss == null).ThenBy(r => r.BestLoss),
            (RunSort.BestLoss, true) => runs.OrderBy(r => r.BestLoss == null).ThenByDescending(r => r.BestLoss),
            (_, false) => runs.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id),
            _ => runs.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id),
        };
        return await runs.ToListAsync(cancellation);
    }

    /// <summary>One run without its points; null when it does not exist.</summary>
    public async Task<RunRecord?> GetAsync(int runId, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        return await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, cancellation);
    }

    /// <summary>A run's curves and log, as a monitor view draws them.</summary>
    public async Task<RunTimeline> LoadTimelineAsync(int runId, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, cancellation);
        var timeline = new RunTimeline { TotalSteps = run?.TotalSteps ?? 0 };
        var points = await db.Metrics.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Step).ThenBy(m => m.Id).ToListAsync(cancellation);
        foreach (var point in points)
        {
            if (point.Kind == MetricKind.Train)
                timeline.Steps.Add(ToStep(point, timeline.TotalSteps));
            else
                timeline.Evaluations.Add(new EvaluationCompleted(point.Step, point.Loss, ReadMetrics(point.MetricsJson)));
        }
        var logs = await db.Logs.AsNoTracking().Where(l => l.RunId == runId).OrderByDescending(l => l.Sequence)
            .Take(RunTimeline.MaxLogLines).ToListAsync(cancellation);
        foreach (var log in logs.AsEnumerable().Reverse())
            timeline.AddLog(new LogEntry(log.Time, log.Level, log.Message));
        return timeline;
    }

    /// <summary>Every log line of a run, oldest first.</summary>
    public async Task<IReadOnlyList<RunLogLine>> LoadLogAsync(int runId, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        return await db.Logs.AsNoTracking().Where(l => l.RunId == runId).OrderBy(l => l.Sequence).ToListAsync(cancellation);
    }

    /// <summary>The highest log sequence number of a run (−1 without lines), so a resumed run continues the numbering.</summary>
    public async Task<int> LastLogSequenceAsync(int runId, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        return await db.Logs.Where(l => l.RunId == runId).Select(l => (int?)l.Sequence).MaxAsync(cancellation) ?? -1;
    }

    /// <summary>Removes the points after <paramref name="step"/>: a resumed run redoes those steps.</summary>
    public async Task DeletePointsAfterAsync(int runId, int step, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        await db.Metrics.Where(m => m.RunId == runId && m.Step > step).ExecuteDeleteAsync(cancellation);
    }

    /// <summary>Finished LoRA runs of a model (same folder, compared as full paths), newest first, for the adapter list.</summary>
    public async Task<IReadOnlyList<RunRecord>> LoraRunsForModelAsync(string modelPath, CancellationToken cancellation = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellation);
        var runs = await db.Runs.AsNoTracking()
            .Where(r => r.FinetuningType == "lora" && (r.Status == RunStatus.Completed || r.Status == RunStatus.Stopped || r.Status == RunStatus.Interrupted))
            .OrderByDescending(r => r.CreatedAt).ToListAsync(cancellation);
        string wanted = FullPath(modelPath);
        return runs.Where(r => FullPath(r.ModelPath) == wanted).ToList();
    }

    static string FullPath(string path)
    {
        try
        {
            return Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return path;
        }
    }

    static StepCompleted ToStep(MetricPoint point, int totalSteps) =>
        new(point.Step, totalSteps, point.Epoch, point.Loss, point.LearningRate ?? 0, point.GradNorm, point.TokensPerSecond ?? 0,
            point.TotalTokens ?? 0, point.MemoryBytes, TimeSpan.FromSeconds(point.ElapsedSeconds));

    static IReadOnlyDictionary<string, double> ReadMetrics(string? json) =>
        string.IsNullOrEmpty(json) ? new Dictionary<string, double>() : JsonSerializer.Deserialize<Dictionary<string, double>>(json) ?? [];
}
