using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using Microsoft.Extensions.DependencyInjection;
using static LlamaBoard.Tests.Web.Jobs.JobTestKit;

namespace LlamaBoard.Tests.Web.Jobs;

/// <summary><see cref="JobQueue"/> with the fake trainer: queueing per device, abort, failures, history, restart.</summary>
public class JobQueueTests
{
    [Fact]
    public async Task A_run_records_its_steps_evaluations_checkpoints_and_log_in_the_history()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 12, EvalEvery = 4, SaveEvery = 5 };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var history = services.GetRequiredService<RunHistory>();
        await queue.StartAsync(CancellationToken.None);

        var job = await queue.EnqueueAsync(Options(workspace.Root, "one"));
        var run = await WaitForStatus(history, job.RunId, RunStatus.Completed);

        Assert.Equal(12, run.Step);
        Assert.Equal(12, run.TotalSteps);
        Assert.Equal(FakeTrainingRunner.LossAt(12), run.FinalLoss!.Value, 12);
        Assert.Equal(Enumerable.Range(1, 12).Min(FakeTrainingRunner.LossAt), run.BestLoss!.Value, 12);
        Assert.Equal(Path.Combine(workspace.Root, "saves", "one", "checkpoint-10"), run.LastCheckpoint);
        Assert.Equal("sft", run.Stage);
        Assert.Equal("lora", run.FinetuningType);
        Assert.Equal("demo_sft", run.Datasets);
        Assert.Contains("lr_scheduler_type: cosine", run.OptionsYaml);

        var timeline = await history.LoadTimelineAsync(job.RunId);
        Assert.Equal(Enumerable.Range(1, 12), timeline.Steps.Select(s => s.Step));
        Assert.Equal([4, 8, 12], timeline.Evaluations.Select(e => e.Step));
        Assert.Equal(0.5, timeline.Evaluations[0].Metrics["accuracy"]);
        Assert.Contains(timeline.Logs, l => l.Message.StartsWith("started 12 steps", StringComparison.Ordinal));
        Assert.Contains(timeline.Logs, l => l.Message == "fake trainer: 12 steps");
        Assert.Contains(timeline.Logs, l => l.Message.StartsWith("finished at step 12", StringComparison.Ordinal));

        // The live job holds the same history as the database.
        var view = queue.Find(job.RunId)!.View();
        Assert.Equal(RunStatus.Completed, view.Status);
        Assert.Equal(12, view.Timeline.Steps.Count);
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Jobs_for_one_device_wait_in_line_and_other_devices_run_alongside()
    {
        using var workspace = new TempWorkspace();
        var gate = new SemaphoreSlim(0);
        var runner = new FakeTrainingRunner { TotalSteps = 3, StepDelay = TimeSpan.Zero, Gate = gate };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var history = services.GetRequiredService<RunHistory>();
        await queue.StartAsync(CancellationToken.None);

        var first = await queue.EnqueueAsync(Options(workspace.Root, "first", "cpu"));
        var second = await queue.EnqueueAsync(Options(workspace.Root, "second", "cpu"));
        var other = await queue.EnqueueAsync(Options(workspace.Root, "other", "cuda:7"));
        await WaitFor(() => first.Status == RunStatus.Running && other.Status == RunStatus.Running, "first and other to run");

        Assert.Equal(RunStatus.Queued, second.Status);
        Assert.Equal(1, queue.QueuePosition(second.RunId));
        Assert.Equal(0, queue.QueuePosition(first.RunId));
        Assert.Equal(RunStatus.Queued, (await history.GetAsync(second.RunId))!.Status);
        Assert.Equal([first.RunId, other.RunId, second.RunId], queue.Jobs.Select(j => j.RunId).Take(3).OrderBy(id => id == second.RunId).ToList());

        gate.Release(100);
        await WaitForStatus(history, first.RunId, RunStatus.Completed);
        await WaitForStatus(history, second.RunId, RunStatus.Completed);
        await WaitForStatus(history, other.RunId, RunStatus.Completed);
        var firstRun = await history.GetAsync(first.RunId);
        var secondRun = await history.GetAsync(second.RunId);
        Assert.True(secondRun!.StartedAt >= firstRun!.FinishedAt, "the second cpu job started before the first ended");
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Abort_stops_a_running_job_at_a_step_with_a_checkpoint_and_removes_a_queued_one()
    {
        using var workspace = new TempWorkspace();
        var gate = new SemaphoreSlim(0);
        var runner = new FakeTrainingRunner { TotalSteps = 50, StepDelay = TimeSpan.Zero, Gate = gate };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var history = services.GetRequiredService<RunHistory>();
        await queue.StartAsync(CancellationToken.None);

        var running = await queue.EnqueueAsync(Options(workspace.Root, "running"));
        var waiting = await queue.EnqueueAsync(Options(workspace.Root, "waiting"));
        gate.Release(3);
        await WaitFor(() => running.View().Timeline.Steps.Count == 3, "three steps");

        Assert.True(await queue.AbortAsync(waiting.RunId));
        Assert.Equal(RunStatus.Stopped, (await history.GetAsync(waiting.RunId))!.Status);
        Assert.True(await queue.AbortAsync(running.RunId));
        Assert.Equal(RunStatus.Stopping, running.Status);
        gate.Release(100);
        var stopped = await WaitForStatus(history, running.RunId, RunStatus.Stopped);

        Assert.InRange(stopped.Step, 3, 4);
        Assert.Equal(Path.Combine(workspace.Root, "saves", "running", $"checkpoint-{stopped.Step}"), stopped.LastCheckpoint);
        Assert.Equal(stopped.Step, stopped.LastCheckpointStep);
        Assert.False(await queue.AbortAsync(running.RunId), "a finished run cannot be aborted again");
        Assert.Single(runner.Calls);
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_failed_run_keeps_the_trainers_message_and_its_log_tail()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 10, FailAtStep = 4, StepDelay = TimeSpan.Zero };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var history = services.GetRequiredService<RunHistory>();
        await queue.StartAsync(CancellationToken.None);

        var job = await queue.EnqueueAsync(Options(workspace.Root, "doomed"));
        var run = await WaitForStatus(history, job.RunId, RunStatus.Failed);

        Assert.Equal("out of memory at step 4: lower per_device_train_batch_size", run.Error);
        Assert.Equal(4, run.Step);
        var view = queue.Find(job.RunId)!.View();
        Assert.Equal(run.Error, view.Error);
        var log = (await history.LoadLogAsync(job.RunId)).Select(l => (l.Level, l.Message)).ToList();
        Assert.Contains(("warning", "loss is about to become NaN"), log);
        Assert.Equal(("error", "failed: out of memory at step 4: lower per_device_train_batch_size"), log[^1]);
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Runs_active_when_the_board_died_are_interrupted_at_start_and_resume_from_their_checkpoint()
    {
        using var workspace = new TempWorkspace();
        int runId;
        var first = new FakeTrainingRunner { TotalSteps = 20, StepDelay = TimeSpan.Zero, SaveEvery = 5, Gate = new SemaphoreSlim(0) };
        await using (var services = await BoardTestContext.CreateServicesAsync(workspace, first))
        {
            var queue = services.GetRequiredService<JobQueue>();
            await queue.StartAsync(CancellationToken.None);
            var job = await queue.EnqueueAsync(Options(workspace.Root, "crash"));
            runId = job.RunId;
            first.Gate!.Release(7);
            var history = services.GetRequiredService<RunHistory>();
            await WaitFor(() => job.View().Timeline.Steps.Count == 7, "seven steps");
            // Let the batched writer store the points and the checkpoint, then "crash": the queue is never stopped.
            await WaitFor(() => history.GetAsync(runId).Result is { Step: 7, LastCheckpointStep: 5 }, "the history to hold step 7");
        }

        var second = new FakeTrainingRunner { TotalSteps = 20, StepDelay = TimeSpan.Zero };
        await using (var services = await BoardTestContext.CreateServicesAsync(workspace, second))
        {
            var queue = services.GetRequiredService<JobQueue>();
            var history = services.GetRequiredService<RunHistory>();
            await queue.StartAsync(CancellationToken.None);
            var interrupted = await history.GetAsync(runId);
            Assert.Equal(RunStatus.Interrupted, interrupted!.Status);
            Assert.Contains("LlamaBoard stopped while this run was running", interrupted.Error);
            Assert.Contains("checkpoint-5", interrupted.Error);

            var resumed = await queue.ResumeAsync(runId);
            Assert.Equal(runId, resumed.RunId);
            var done = await WaitForStatus(history, runId, RunStatus.Completed);
            Assert.Equal(Path.Combine(workspace.Root, "saves", "crash", "checkpoint-5"), second.Calls.Single().Training.ResumeFromCheckpoint);
            Assert.Equal(20, done.Step);
            // Steps 6 and 7 of the first attempt were dropped and run again: every step appears once.
            var timeline = await history.LoadTimelineAsync(runId);
            Assert.Equal(Enumerable.Range(1, 20), timeline.Steps.Select(s => s.Step));
            await queue.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Without_a_trainer_nothing_can_be_queued_and_the_reason_is_given()
    {
        using var workspace = new TempWorkspace();
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner: null);
        var queue = services.GetRequiredService<JobQueue>();
        await queue.StartAsync(CancellationToken.None);
        Assert.Contains("No trainer is registered", queue.UnavailableReason);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => queue.EnqueueAsync(Options(workspace.Root, "x")));
        Assert.Equal(queue.UnavailableReason, error.Message);
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Notifier_delivers_every_event_in_order_and_stops_after_disposal()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 6, StepDelay = TimeSpan.Zero, EvalEvery = 0 };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var notifier = services.GetRequiredService<JobNotifier>();
        var seen = new List<JobChange>();
        var subscription = notifier.Subscribe(change =>
        {
            lock (seen) seen.Add(change);
            return Task.CompletedTask;
        });
        await queue.StartAsync(CancellationToken.None);

        var job = await queue.EnqueueAsync(Options(workspace.Root, "watched"));
        await WaitForStatus(services.GetRequiredService<RunHistory>(), job.RunId, RunStatus.Completed);
        await WaitFor(() => { lock (seen) return seen.Any(c => c.Status == RunStatus.Completed && c.Event is null); }, "the final status");
        List<JobChange> changes;
        lock (seen) changes = [.. seen];
        Assert.Equal(Enumerable.Range(1, 6), changes.Select(c => c.Event).OfType<StepCompleted>().Select(s => s.Step));
        Assert.IsType<TrainingFinished>(changes.Last(c => c.Event is not null).Event);

        subscription.Dispose();
        Assert.Equal(0, notifier.SubscriberCount);
        int count = changes.Count;
        var again = await queue.EnqueueAsync(Options(workspace.Root, "unwatched"));
        await WaitForStatus(services.GetRequiredService<RunHistory>(), again.RunId, RunStatus.Completed);
        lock (seen) Assert.Equal(count, seen.Count);
        await queue.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task When_the_final_status_is_announced_the_job_is_listed_once_as_finished()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 2, StepDelay = TimeSpan.Zero };
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, runner);
        var queue = services.GetRequiredService<JobQueue>();
        var listed = new List<int>();
        using var subscription = services.GetRequiredService<JobNotifier>().Subscribe(change =>
        {
            if (change.Status == RunStatus.Completed && change.Event is null)
                lock (listed) listed.Add(queue.Jobs.Count(j => j.RunId == change.RunId));
            return Task.CompletedTask;
        });
        await queue.StartAsync(CancellationToken.None);
        var job = await queue.EnqueueAsync(Options(workspace.Root, "once"));
        await WaitFor(() => { lock (listed) return listed.Count == 1; }, "the completed status");
        lock (listed) Assert.Equal([1], listed);
        await queue.StopAsync(CancellationToken.None);
    }
}
