using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Components.Monitor;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Monitoring;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Pages;

/// <summary>
/// The run history: every run with its model, stage, method, datasets, status, steps and losses; filtered, sorted;
/// selecting several overlays their loss curves; a run can be cloned into the Train tab or resumed.
/// </summary>
public partial class Runs
{
    IReadOnlyList<RunRecord> runs = [];
    HashSet<RunRecord> selected = [];
    IReadOnlyList<ChartSeries> overlay = [];
    int overlayVersion;
    string? filterText;
    RunStatus? filterStatus;
    RunSort sortBy = RunSort.Created;
    bool descending = true;
    string? error;

    [Inject] RunHistory History { get; set; } = default!;
    [Inject] JobQueue Jobs { get; set; } = default!;
    [Inject] BoardState State { get; set; } = default!;
    [Inject] NavigationManager Navigation { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override Task OnInitializedAsync() => LoadAsync();

    async Task LoadAsync()
    {
        runs = await History.ListAsync(new RunQuery(filterText, filterStatus, sortBy, descending));
        var ids = runs.Select(r => r.Id).ToHashSet();
        selected = selected.Where(r => ids.Contains(r.Id)).ToHashSet();
        await OverlayAsync();
    }

    async Task OverlayAsync()
    {
        var series = new List<ChartSeries>();
        foreach (var run in selected.OrderBy(r => r.Id))
        {
            var timeline = await History.LoadTimelineAsync(run.Id);
            series.Add(new ChartSeries($"{run.Name} (#{run.Id})", timeline.Steps.Select(s => (double)s.Step).ToList(),
                                       LossSmoothing.Smooth(timeline.Steps.Select(s => s.Loss).ToList())));
        }
        overlay = series;
        overlayVersion++;
    }

    void Clone(RunRecord run) => error = RunActions.Clone(run, State, Navigation);

    async Task ResumeAsync(RunRecord run) => error = await RunActions.ResumeAsync(run.Id, Jobs, State, Navigation);
}
