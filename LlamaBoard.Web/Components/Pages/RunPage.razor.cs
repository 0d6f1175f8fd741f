using System.Globalization;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Monitoring;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Pages;

/// <summary>One run from the history: its charts and log replayed (live when it is still active), its options, Clone and Resume.</summary>
public partial class RunPage
{
    RunRecord? run;
    RunTimeline timeline = new();
    string fullLog = "";
    string? error;

    [Inject] RunHistory History { get; set; } = default!;
    [Inject] JobQueue Jobs { get; set; } = default!;
    [Inject] BoardState State { get; set; } = default!;
    [Inject] NavigationManager Navigation { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The run's id, from the address. Default: 0.</summary>
    [Parameter] public int RunId { get; set; }

    /// <inheritdoc/>
    protected override async Task OnParametersSetAsync()
    {
        run = await History.GetAsync(RunId);
        if (run is null) return;
        timeline = await History.LoadTimelineAsync(RunId);
        fullLog = string.Join("\n", (await History.LoadLogAsync(RunId)).Select(l =>
            $"{l.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} {l.Level} {l.Message}"));
    }

    void Clone()
    {
        if (run is not null) error = RunActions.Clone(run, State, Navigation);
    }

    async Task ResumeAsync() => error = await RunActions.ResumeAsync(RunId, Jobs, State, Navigation);
}
