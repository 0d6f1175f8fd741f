using System.Globalization;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Monitoring;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace LlamaBoard.Web.Components.Monitor;

/// <summary>
/// Draws one run: status, error with the log tail, progress with elapsed time and ETA, the loss chart (raw,
/// smoothed, evaluation), learning rate, throughput and memory charts, and the last log lines. It only displays:
/// <see cref="LiveRunMonitor"/> feeds it a live job, the run page a run from the history.
/// </summary>
public partial class RunMonitor
{
    /// <summary>Log lines shown under the charts.</summary>
    public const int LogLines = 30;

    /// <summary>Log lines shown with a failure.</summary>
    public const int LogTailLines = 12;

    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The run's id (chart ids and test hooks). Default: 0.</summary>
    [Parameter] public int RunId { get; set; }

    /// <summary>The run's name. Default: empty.</summary>
    [Parameter] public string Name { get; set; } = "";

    /// <summary>The run's status. Default: queued.</summary>
    [Parameter] public RunStatus Status { get; set; } = RunStatus.Queued;

    /// <summary>The failure or interruption message. Default: null.</summary>
    [Parameter] public string? Error { get; set; }

    /// <summary>The run's history. Default: empty.</summary>
    [Parameter] public RunTimeline Timeline { get; set; } = new();

    /// <summary>Wall time of the run so far. Default: zero.</summary>
    [Parameter] public TimeSpan Elapsed { get; set; }

    /// <summary>Place in the device's queue; 0 when not waiting. Default: 0.</summary>
    [Parameter] public int QueuePosition { get; set; }

    /// <summary>Bump to redraw the charts. Default: 0.</summary>
    [Parameter] public int Version { get; set; }

    int TotalSteps => Math.Max(Timeline.TotalSteps, Timeline.LastStep?.TotalSteps ?? 0);

    double Percent => TotalSteps == 0 ? 0 : 100.0 * (Timeline.LastStep?.Step ?? 0) / TotalSteps;

    Color StatusColor => Status switch
    {
        RunStatus.Completed => Color.Success,
        RunStatus.Failed => Color.Error,
        RunStatus.Interrupted or RunStatus.Stopped or RunStatus.Stopping => Color.Warning,
        RunStatus.Running => Color.Info,
        _ => Color.Default,
    };

    IReadOnlyList<double> Steps => Timeline.Steps.Select(s => (double)s.Step).ToList();

    IReadOnlyList<ChartSeries> LossSeries
    {
        get
        {
            var losses = Timeline.Steps.Select(s => s.Loss).ToList();
            var series = new List<ChartSeries>
            {
                new(L["SeriesLoss"], Steps, losses),
                new(L["SeriesSmoothed"], Steps, LossSmoothing.Smooth(losses)),
            };
            if (Timeline.Evaluations.Count > 0)
                series.Add(new(L["SeriesEvalLoss"], Timeline.Evaluations.Select(e => (double)e.Step).ToList(),
                               Timeline.Evaluations.Select(e => e.EvalLoss).ToList(), Dashed: true, Markers: true));
            return series;
        }
    }

    IReadOnlyList<ChartSeries> LearningRateSeries => [new(L["SeriesLearningRate"], Steps, Timeline.Steps.Select(s => s.LearningRate).ToList())];

    IReadOnlyList<ChartSeries> ThroughputSeries => [new(L["SeriesThroughput"], Steps, Timeline.Steps.Select(s => s.TokensPerSecond).ToList())];

    IReadOnlyList<ChartSeries> MemorySeries
    {
        get
        {
            var known = Timeline.Steps.Where(s => s.MemoryBytes is not null).ToList();
            return [new(L["SeriesMemory"], known.Select(s => (double)s.Step).ToList(), known.Select(s => s.MemoryBytes!.Value / 1048576.0).ToList())];
        }
    }

    static string FormatLog(LogEntry line) =>
        $"{line.Time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {(line.Level == "info" ? "" : line.Level.ToUpperInvariant() + " ")}{line.Message}";

    /// <summary>A duration as h:mm:ss.</summary>
    public static string Clock(TimeSpan time) =>
        $"{(int)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}";
}
