using LlamaBoard.Engine.Training;

namespace LlamaBoard.Web.Monitoring;

/// <summary>A log line with the time it arrived.</summary>
/// <param name="Time">When it was logged (UTC).</param>
/// <param name="Level">info, warning or error.</param>
/// <param name="Message">The line.</param>
public sealed record LogEntry(DateTime Time, string Level, string Message)
{
    /// <summary>The level name used for an engine log level.</summary>
    public static string LevelName(TrainingLogLevel level) => level == TrainingLogLevel.Warning ? "warning" : "info";
}

/// <summary>
/// Everything a monitor view draws for one run: steps, evaluations and log lines. The live job keeps one and adds
/// events as they arrive; a run page rebuilds one from the history. Not thread-safe: the owner copies it under its
/// lock (<see cref="Copy"/>) before handing it to a view.
/// </summary>
public sealed class RunTimeline
{
    /// <summary>Log lines kept in memory for a live run (the history keeps all of them).</summary>
    public const int MaxLogLines = 500;

    /// <summary>Training steps in order.</summary>
    public List<StepCompleted> Steps { get; } = [];

    /// <summary>Evaluations in order.</summary>
    public List<EvaluationCompleted> Evaluations { get; } = [];

    /// <summary>The latest log lines, oldest first.</summary>
    public List<LogEntry> Logs { get; } = [];

    /// <summary>Steps of the whole run; 0 until known.</summary>
    public int TotalSteps { get; set; }

    /// <summary>The step a resumed run started from.</summary>
    public int StartStep { get; set; }

    /// <summary>Adds a log line, dropping the oldest beyond <see cref="MaxLogLines"/>.</summary>
    public void AddLog(LogEntry entry)
    {
        Logs.Add(entry);
        if (Logs.Count > MaxLogLines) Logs.RemoveRange(0, Logs.Count - MaxLogLines);
    }

    /// <summary>The last step, or null before the first.</summary>
    public StepCompleted? LastStep => Steps.Count == 0 ? null : Steps[^1];

    /// <summary>A copy that the owner's later changes do not touch.</summary>
    public RunTimeline Copy()
    {
        var copy = new RunTimeline { TotalSteps = TotalSteps, StartStep = StartStep };
        copy.Steps.AddRange(Steps);
        copy.Evaluations.AddRange(Evaluations);
        copy.Logs.AddRange(Logs);
        return copy;
    }

    /// <summary>Estimated time to the end: the runner's estimate, else the pace of the steps taken in this session.</summary>
    public TimeSpan? Remaining
    {
        get
        {
            if (LastStep is not { } last) return null;
            if (last.Remaining is { } remaining) return remaining;
            int done = last.Step - StartStep;
            if (done <= 0 || last.TotalSteps <= last.Step) return last.TotalSteps <= last.Step ? TimeSpan.Zero : null;
            return last.Elapsed / done * (last.TotalSteps - last.Step);
        }
    }
}
