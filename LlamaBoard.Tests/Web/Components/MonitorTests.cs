using Bunit;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Tests.Web.Jobs;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Components.Monitor;
using LlamaBoard.Web.Components.Pages;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Monitoring;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>Live monitoring, the failure view, the dataset preview dialog and the Runs page, rendered with bUnit.</summary>
public class MonitorTests
{
    [Fact]
    public async Task Live_monitor_shows_history_at_once_follows_events_and_unsubscribes_when_disposed()
    {
        using var workspace = new TempWorkspace();
        var gate = new SemaphoreSlim(0);
        var runner = new FakeTrainingRunner { TotalSteps = 10, StepDelay = TimeSpan.Zero, Gate = gate, EvalEvery = 5 };
        await using var context = await BoardTestContext.CreateAsync(workspace, runner);
        var queue = context.Services.GetRequiredService<JobQueue>();
        var notifier = context.Services.GetRequiredService<JobNotifier>();
        var job = await queue.EnqueueAsync(JobTestKit.Options(workspace.Root, "live"));
        gate.Release(3);
        await JobTestKit.WaitFor(() => job.View().Timeline.Steps.Count == 3, "three steps");

        int before = notifier.SubscriberCount;
        // Attaching mid-run (a reload, a second browser) shows the steps so far.
        var monitor = context.Render<LiveRunMonitor>(p => p.Add(m => m.RunId, job.RunId));
        monitor.WaitForAssertion(() => Assert.Equal("3", monitor.Find(".run-monitor").GetAttribute("data-step")));
        Assert.Equal(before + 1, notifier.SubscriberCount);
        Assert.Equal("Running", monitor.Find(".run-monitor").GetAttribute("data-status"));
        Assert.Contains("Step 3/10", monitor.Find(".progress-text").TextContent);
        // 3 raw + 3 smoothed loss points.
        Assert.Equal("6", monitor.Find("[data-chart='loss-" + job.RunId + "']").GetAttribute("data-points"));

        gate.Release(4);
        monitor.WaitForAssertion(() => Assert.Equal("7", monitor.Find(".run-monitor").GetAttribute("data-step")));
        // 7 raw + 7 smoothed + 1 evaluation point.
        monitor.WaitForAssertion(() => Assert.Equal("15", monitor.Find("[data-chart='loss-" + job.RunId + "']").GetAttribute("data-points")));
        Assert.Contains("evaluation at step 5", monitor.Find(".run-log").TextContent);

        gate.Release(100);
        monitor.WaitForAssertion(() => Assert.Equal("Completed", monitor.Find(".run-monitor").GetAttribute("data-status")));
        Assert.Equal("10", monitor.Find(".run-monitor").GetAttribute("data-step"));

        monitor.Instance.Dispose();
        Assert.Equal(before, notifier.SubscriberCount);
    }

    [Fact]
    public async Task A_failed_run_shows_its_message_and_log_tail_not_just_failed()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace);
        var timeline = new RunTimeline { TotalSteps = 10 };
        timeline.AddLog(new LogEntry(DateTime.UtcNow, "warning", "loss is about to become NaN"));
        timeline.AddLog(new LogEntry(DateTime.UtcNow, "error", "failed: out of memory at step 4"));
        var monitor = context.Render<RunMonitor>(p => p
            .Add(m => m.Name, "doomed").Add(m => m.Status, RunStatus.Failed)
            .Add(m => m.Error, "out of memory at step 4: lower per_device_train_batch_size").Add(m => m.Timeline, timeline));
        var error = monitor.Find(".run-error");
        Assert.Contains("out of memory at step 4: lower per_device_train_batch_size", error.TextContent);
        Assert.Contains("WARNING loss is about to become NaN", monitor.Find(".log-tail").TextContent);
        Assert.Contains("failed", monitor.Find(".run-status").TextContent);
    }

    sealed class PagedCatalog : IDatasetCatalog
    {
        public DatasetList List(string datasetDir, TrainingStage stage) => new(["a", "b"]);
        public string? PreviewUnavailableReason => null;

        public Task<DatasetPreviewPage> PreviewAsync(LlamaBoardOptions options, string dataset, int page, int pageSize, CancellationToken cancellation = default)
        {
            var examples = Enumerable.Range(page * pageSize, pageSize).Where(i => i < 7)
                .Select(i => new DatasetPreviewExample(i, $"{{\"instruction\": \"q{i}\"}}",
                    [new PreviewSpanView($"<user>q{i}", Learned: false), new PreviewSpanView($"answer {i}", Learned: true)])).ToList();
            return Task.FromResult(new DatasetPreviewPage(examples, (page + 1) * pageSize < 7));
        }
    }

    static async Task<IRenderedComponent<MudDialogProvider>> ShowPreviewAsync(BunitContext context)
    {
        context.Render<MudPopoverProvider>();
        var provider = context.Render<MudDialogProvider>();
        var dialogs = context.Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<DatasetPreviewDialog> { { d => d.Datasets, ["a"] } };
        await provider.InvokeAsync(() => dialogs.ShowAsync<DatasetPreviewDialog>("Preview dataset", parameters));
        return provider;
    }

    [Fact]
    public async Task Dataset_preview_pages_through_examples_and_marks_masked_spans()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace, configure: s => s.AddSingleton<IDatasetCatalog>(new PagedCatalog()));
        var dialog = await ShowPreviewAsync(context);
        dialog.WaitForAssertion(() => Assert.Equal(5, dialog.FindAll(".preview-example").Count));
        Assert.Equal("<user>q0", dialog.Find(".span-masked").TextContent);
        Assert.Equal("answer 0", dialog.Find(".span-learned").TextContent);
        Assert.True(dialog.Find(".preview-previous").HasAttribute("disabled"));

        await dialog.Find(".preview-next").ClickAsync(new());
        dialog.WaitForAssertion(() => Assert.Equal(2, dialog.FindAll(".preview-example").Count));
        Assert.Contains("Page 2", dialog.Find(".preview-page").TextContent);
        Assert.True(dialog.Find(".preview-next").HasAttribute("disabled"));
    }

    [Fact]
    public async Task Dataset_preview_over_the_data_pipeline_shows_templated_records_with_masked_prompts()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace);
        var state = context.Services.GetRequiredService<BoardState>();
        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.Template = "qwen3";
        context.Render<MudPopoverProvider>();
        var provider = context.Render<MudDialogProvider>();
        var dialogs = context.Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<DatasetPreviewDialog> { { d => d.Datasets, ["demo_sft"] }, { d => d.Options, state.Options } };
        await provider.InvokeAsync(() => dialogs.ShowAsync<DatasetPreviewDialog>("Preview dataset", parameters));

        provider.WaitForAssertion(() => Assert.Equal(5, provider.FindAll(".preview-example").Count), TimeSpan.FromSeconds(10));
        var first = provider.Find(".preview-example");
        Assert.Contains("Say 0", string.Concat(first.QuerySelectorAll(".span-masked").Select(e => e.TextContent)));
        Assert.Contains("The number is 0.", string.Concat(first.QuerySelectorAll(".span-learned").Select(e => e.TextContent)));
        Assert.Contains("<|im_start|>user", first.TextContent);
        await provider.Find(".preview-next").ClickAsync(new());
        provider.WaitForAssertion(() => Assert.Equal(2, provider.FindAll(".preview-example").Count));
        Assert.Equal("6", provider.FindAll(".preview-example")[1].GetAttribute("data-index"));
        Assert.Contains("Say 6", provider.FindAll(".preview-example")[1].TextContent);
    }

    [Fact]
    public void Datasets_are_listed_by_stage_from_dataset_info()
    {
        using var workspace = new TempWorkspace();
        var catalog = new DataWorkerCatalog(new BoardRoots([workspace.Root]));
        string data = workspace.MakeData();
        Assert.Equal(["demo_sft", "identity"], catalog.List(data, TrainingStage.Sft).Names);
        Assert.Equal(["demo_dpo"], catalog.List(data, TrainingStage.Dpo).Names);
        var missing = catalog.List(Path.Combine(workspace.Root, "nowhere"), TrainingStage.Sft);
        Assert.Empty(missing.Names);
        Assert.Contains("does not exist", missing.Problem);
    }

    [Fact]
    public async Task Runs_page_lists_filters_and_clones_into_the_form()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 4, StepDelay = TimeSpan.Zero };
        await using var context = await BoardTestContext.CreateAsync(workspace, runner);
        var queue = context.Services.GetRequiredService<JobQueue>();
        var history = context.Services.GetRequiredService<RunHistory>();
        var alpha = JobTestKit.Options(workspace.Root, "alpha");
        alpha.Training.LearningRate = 3e-4;
        var first = await queue.EnqueueAsync(alpha);
        var second = await queue.EnqueueAsync(JobTestKit.Options(workspace.Root, "beta"));
        await JobTestKit.WaitForStatus(history, first.RunId, RunStatus.Completed);
        await JobTestKit.WaitForStatus(history, second.RunId, RunStatus.Completed);

        context.Render<MudPopoverProvider>();
        var runs = context.Render<Runs>();
        runs.WaitForAssertion(() => Assert.Equal(2, runs.FindAll(".run-row").Count));
        Assert.Equal(["beta", "alpha"], runs.FindAll(".run-link").Select(l => l.TextContent));

        runs.Find("#runs-filter").Change("alp");
        runs.WaitForAssertion(() => Assert.Equal(["alpha"], runs.FindAll(".run-link").Select(l => l.TextContent)));

        await runs.Find($".run-{first.RunId} .btn-clone").ClickAsync(new());
        var state = context.Services.GetRequiredService<BoardState>();
        Assert.Equal(3e-4, state.Options.Training.LearningRate);
        Assert.NotEqual(alpha.Training.OutputDir, state.Options.Training.OutputDir);
        Assert.EndsWith("/", context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri);
    }
}
