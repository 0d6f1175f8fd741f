using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using Microsoft.AspNetCore.Components;

namespace LlamaBoard.Web.Components.Monitor;

/// <summary>
/// Follows one run live: shows the job's whole history at once (also after a page reload or in a second browser),
/// then redraws as events arrive. It subscribes to <see cref="JobNotifier"/> after the first render, coalesces
/// bursts of events into at most one redraw per <see cref="RedrawInterval"/>, marshals onto the circuit with
/// <c>InvokeAsync</c>, and unsubscribes when disposed. A run no longer in memory is read from the history.
/// </summary>
public partial class LiveRunMonitor : IDisposable
{
    /// <summary>Shortest time between two redraws (events arriving faster are drawn together).</summary>
    public static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    JobView? view;
    int version;
    int queuePosition;
    int? shownRunId;
    IDisposable? subscription;
    int redrawQueued;
    DateTime lastRedraw = DateTime.MinValue;
    bool disposed;
    RunStatus? lastStatus;

    [Inject] JobQueue Jobs { get; set; } = default!;
    [Inject] RunHistory History { get; set; } = default!;
    [Inject] JobNotifier Notifier { get; set; } = default!;

    /// <summary>The run to follow; null shows nothing. Default: null.</summary>
    [Parameter] public int? RunId { get; set; }

    /// <summary>Raised when the followed run's status changes (the Train tab enables Abort with it). Default: none.</summary>
    [Parameter] public EventCallback<RunStatus> StatusChanged { get; set; }

    /// <inheritdoc/>
    protected override async Task OnParametersSetAsync()
    {
        if (RunId == shownRunId) return;
        shownRunId = RunId;
        view = null;
        lastStatus = null;
        await LoadAsync();
    }

    /// <inheritdoc/>
    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender) subscription = Notifier.Subscribe(OnJobChangedAsync);
    }

    Task OnJobChangedAsync(JobChange change)
    {
        if (change.RunId != RunId || disposed) return Task.CompletedTask;
        if (Interlocked.Exchange(ref redrawQueued, 1) == 1) return Task.CompletedTask;
        return RedrawSoonAsync();
    }

    async Task RedrawSoonAsync()
    {
        var wait = RedrawInterval - (DateTime.UtcNow - lastRedraw);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        Interlocked.Exchange(ref redrawQueued, 0);
        if (disposed) return;
        await InvokeAsync(async () =>
        {
            await LoadAsync();
            StateHasChanged();
        });
    }

    async Task LoadAsync()
    {
        lastRedraw = DateTime.UtcNow;
        if (RunId is not { } runId) return;
        if (Jobs.Find(runId) is { } job)
        {
            view = job.View();
            queuePosition = Jobs.QueuePosition(runId);
        }
        else if (await History.GetAsync(runId) is { } run)
        {
            var timeline = await History.LoadTimelineAsync(runId);
            view = new JobView(run.Id, run.Name, run.Device, run.OutputDir, run.Status, run.Error, run.CreatedAt, run.StartedAt,
                               run.FinishedAt, run.LastCheckpoint, timeline);
            queuePosition = 0;
        }
        version++;
        if (view is not null && view.Status != lastStatus)
        {
            lastStatus = view.Status;
            await StatusChanged.InvokeAsync(view.Status);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        disposed = true;
        subscription?.Dispose();
        GC.SuppressFinalize(this);
    }
}
