using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Monitor;

/// <summary>The jobs the board holds (running, queued with their place in line, recently finished); refreshed on status changes.</summary>
public partial class JobList : IDisposable
{
    IReadOnlyList<TrainingJob> jobs = [];
    IDisposable? subscription;
    bool disposed;

    [Inject] JobQueue Jobs { get; set; } = default!;
    [Inject] JobNotifier Notifier { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>Raised with a run id when the user picks a job to follow. Default: none.</summary>
    [Parameter] public EventCallback<int> SelectedChanged { get; set; }

    /// <inheritdoc/>
    protected override void OnInitialized() => jobs = Jobs.Jobs;

    /// <inheritdoc/>
    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
            subscription = Notifier.Subscribe(change => change.Event is null && !disposed
                ? InvokeAsync(() =>
                {
                    jobs = Jobs.Jobs;
                    StateHasChanged();
                })
                : Task.CompletedTask);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        disposed = true;
        subscription?.Dispose();
        GC.SuppressFinalize(this);
    }
}
