using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Data;

namespace LlamaBoard.Web.Jobs;

/// <summary>Something changed about a job: its status, or an event arrived.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Status">The job's status after the change.</param>
/// <param name="Event">The training event, or null for a status change alone.</param>
public sealed record JobChange(int RunId, RunStatus Status, TrainingEvent? Event);

/// <summary>
/// Tells live views about job changes (eShop's notifier pattern): a singleton; <see cref="Subscribe"/> returns a
/// handle whose disposal unsubscribes. Handlers run on the job's thread and must not block: Blazor components
/// marshal to their circuit with <c>InvokeAsync</c>; the SignalR relay sends and returns.
/// </summary>
public sealed class JobNotifier(ILogger<JobNotifier> logger)
{
    readonly Lock gate = new();
    ImmutableHandlers handlers = new([]);

    sealed record ImmutableHandlers(Func<JobChange, Task>[] Items);

    /// <summary>The number of current subscriptions (for tests of disposal).</summary>
    public int SubscriberCount => handlers.Items.Length;

    /// <summary>Calls <paramref name="handler"/> for every change until the returned handle is disposed.</summary>
    public IDisposable Subscribe(Func<JobChange, Task> handler)
    {
        lock (gate) handlers = new([.. handlers.Items, handler]);
        return new Subscription(this, handler);
    }

    /// <summary>Tells every subscriber; a failing handler is logged and does not affect the others or the job.</summary>
    public void Publish(JobChange change)
    {
        foreach (var handler in handlers.Items)
            _ = Deliver(handler, change);
    }

    async Task Deliver(Func<JobChange, Task> handler, JobChange change)
    {
        try
        {
            await handler(change);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "A live view failed to take a change of run {RunId}", change.RunId);
        }
    }

    void Unsubscribe(Func<JobChange, Task> handler)
    {
        lock (gate) handlers = new(handlers.Items.Where(h => h != handler).ToArray());
    }

    sealed class Subscription(JobNotifier owner, Func<JobChange, Task> handler) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) owner.Unsubscribe(handler);
        }
    }
}
