using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Monitoring;
using Microsoft.AspNetCore.SignalR;

namespace LlamaBoard.Web.Hubs;

/// <summary>A job as hub clients see it when they attach: its status and its whole history so far.</summary>
public sealed record JobSnapshot(int RunId, string Name, string Device, string Status, string? Error, int QueuePosition,
                                 RunTimeline Timeline);

/// <summary>A change pushed to the clients attached to a run (method <c>"change"</c>).</summary>
/// <param name="RunId">The run.</param>
/// <param name="Status">Its status after the change.</param>
/// <param name="Kind">The event's type name (StepCompleted, TrainingLog, …), or "Status" for a status change alone.</param>
/// <param name="Event">The event's fields as the engine names them; null for a status change.</param>
public sealed record HubChange(int RunId, string Status, string Kind, object? Event);

/// <summary>
/// Live training events for clients other than the board's own pages (scripts, other tools), at <c>/hubs/training</c>.
/// <c>Attach(runId)</c> returns the run's history so far and then pushes every change as <c>"change"</c>; every client
/// gets <c>"jobs"</c> when a job's status changes. The board's Blazor pages get the same changes in-process from
/// <see cref="JobNotifier"/>.
/// </summary>
public sealed class TrainingHub(JobQueue jobs, RunHistory history) : Hub
{
    /// <summary>The hub's path.</summary>
    public const string Path = "/hubs/training";

    /// <summary>The group of a run's listeners.</summary>
    public static string GroupOf(int runId) => $"run-{runId}";

    /// <summary>Starts pushing a run's changes to the caller and returns its history so far (from the history for a finished run).</summary>
    public async Task<JobSnapshot?> Attach(int runId)
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, GroupOf(runId));
        if (jobs.Find(runId) is { } job)
        {
            var view = job.View();
            return new JobSnapshot(runId, view.Name, view.Device, view.Status.ToString(), view.Error, jobs.QueuePosition(runId), view.Timeline);
        }
        if (await history.GetAsync(runId) is not { } run) return null;
        return new JobSnapshot(runId, run.Name, run.Device, run.Status.ToString(), run.Error, 0, await history.LoadTimelineAsync(runId));
    }

    /// <summary>Stops pushing a run's changes to the caller.</summary>
    public Task Detach(int runId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, GroupOf(runId));

    /// <summary>The jobs the board holds: running, queued, recently finished.</summary>
    public IReadOnlyList<JobSnapshot> Jobs() =>
        jobs.Jobs.Select(j => j.View()).Select(v => new JobSnapshot(v.RunId, v.Name, v.Device, v.Status.ToString(), v.Error,
            jobs.QueuePosition(v.RunId), new RunTimeline { TotalSteps = v.Timeline.TotalSteps })).ToList();
}

/// <summary>Forwards every <see cref="JobNotifier"/> change to the hub's clients.</summary>
public sealed class TrainingHubRelay(JobNotifier notifier, IHubContext<TrainingHub> hub) : IHostedService
{
    IDisposable? subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        subscription = notifier.Subscribe(async change =>
        {
            var message = new HubChange(change.RunId, change.Status.ToString(), change.Event?.GetType().Name ?? "Status", change.Event);
            await hub.Clients.Group(TrainingHub.GroupOf(change.RunId)).SendAsync("change", message);
            if (change.Event is null)
                await hub.Clients.All.SendAsync("jobs", message);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        subscription?.Dispose();
        return Task.CompletedTask;
    }
}
