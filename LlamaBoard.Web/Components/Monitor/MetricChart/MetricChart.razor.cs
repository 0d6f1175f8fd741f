using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace LlamaBoard.Web.Components.Monitor;

/// <summary>One line of a chart.</summary>
/// <param name="Name">The legend entry.</param>
/// <param name="X">X values (steps).</param>
/// <param name="Y">Y values.</param>
/// <param name="Dashed">Drawn dashed (evaluation, smoothed).</param>
/// <param name="Markers">Drawn with point markers (sparse series such as evaluations).</param>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, bool Dashed = false, bool Markers = false);

/// <summary>
/// A Plotly line chart of a few series (Plotly.js is served by Plotly.Blazor from _content/, no CDN). The chart is
/// redrawn when <see cref="Version"/> changes, so a live view decides how often it redraws.
/// </summary>
public partial class MetricChart
{
    PlotlyChart? chart;
    // Plotly.Blazor keeps references to these: they are changed in place, then React() redraws.
    readonly IList<ITrace> data = new List<ITrace>();
    readonly PlotLayout layout = new();
    readonly Config config = new() { Responsive = true, DisplayModeBar = Plotly.Blazor.ConfigLib.DisplayModeBarEnum.False };
    int drawnVersion = -1;

    /// <summary>The element id, also used by tests to find the chart. Required; default: empty.</summary>
    [Parameter, EditorRequired]
    public string ChartId { get; set; } = "";

    /// <summary>The chart's title. Default: empty.</summary>
    [Parameter]
    public string Title { get; set; } = "";

    /// <summary>The x axis title. Default: "step".</summary>
    [Parameter]
    public string XTitle { get; set; } = "step";

    /// <summary>The series to draw. Default: none.</summary>
    [Parameter]
    public IReadOnlyList<ChartSeries> Series { get; set; } = [];

    /// <summary>Bump to redraw with the current <see cref="Series"/>. Default: 0.</summary>
    [Parameter]
    public int Version { get; set; }

    /// <summary>Chart height in pixels. Default: 260.</summary>
    [Parameter]
    public int Height { get; set; } = 260;

    int PointCount => Series.Sum(s => s.X.Count);

    /// <inheritdoc/>
    protected override void OnParametersSet()
    {
        layout.Title = new Title { Text = Title };
        layout.Height = Height;
        layout.Margin = new Margin { L = 50, R = 20, T = 40, B = 40 };
        layout.XAxis = [new XAxis { Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = XTitle } }];
        layout.ShowLegend = Series.Count > 1;
        data.Clear();
        foreach (var series in Series)
            data.Add(new Scatter
            {
                Name = series.Name,
                Mode = series.Markers ? ModeFlag.Lines | ModeFlag.Markers : ModeFlag.Lines,
                X = series.X.Cast<object>().ToList(),
                Y = series.Y.Cast<object>().ToList(),
                Line = series.Dashed ? new Line { Dash = "dash" } : null,
            });
    }

    /// <inheritdoc/>
    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender)
        {
            drawnVersion = Version;
            return;
        }
        if (chart is not null && drawnVersion != Version)
        {
            drawnVersion = Version;
            await chart.React();
        }
    }
}
