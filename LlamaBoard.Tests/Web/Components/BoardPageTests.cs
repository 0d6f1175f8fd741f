using System.Globalization;
using Bunit;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Tests.Web.Jobs;
using LlamaBoard.Web.Components.Pages;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>The board page (top bar + tabs) rendered with bUnit: defaults, messages next to fields, Start.</summary>
public class BoardPageTests
{
    static string InputValue(IRenderedComponent<BoardPage> page, string key) => page.Find($"#opt-{key}").GetAttribute("value") ?? "";

    static string FieldText(IRenderedComponent<BoardPage> page, string key) => page.Find($"[data-key='{key}']").TextContent;

    static async Task<(Bunit.BunitContext Context, IRenderedComponent<BoardPage> Page)> RenderAsync(TempWorkspace workspace, FakeTrainingRunner? runner = null)
    {
        var context = await BoardTestContext.CreateAsync(workspace, runner);
        context.Render<MudPopoverProvider>();
        return (context, context.Render<BoardPage>());
    }

    [Fact]
    public async Task Defaults_are_LlamaBoards_web_defaults()
    {
        using var workspace = new TempWorkspace();
        var (context, page) = await RenderAsync(workspace);
        await using var _ = context;

        Assert.Equal("5.0e-05", InputValue(page, "learning_rate"));
        Assert.Equal("3.0", InputValue(page, "num_train_epochs"));
        Assert.Equal("1.0", InputValue(page, "max_grad_norm"));
        Assert.Equal("100000", InputValue(page, "max_samples"));
        Assert.Equal("2048", InputValue(page, "cutoff_len"));
        Assert.Equal("2", InputValue(page, "per_device_train_batch_size"));
        Assert.Equal("8", InputValue(page, "gradient_accumulation_steps"));
        Assert.Equal("0.0", InputValue(page, "val_size"));
        Assert.Contains("cosine", FieldText(page, "lr_scheduler_type"));
        Assert.Contains("bf16", FieldText(page, "compute_type"));
        Assert.Contains("sft", FieldText(page, "stage"));
        Assert.Contains("lora", FieldText(page, "finetuning_type"));
        // A fresh machine starts with the demo model (created by the trainer on first use) and its template.
        Assert.Equal("models/demo", InputValue(page, "model_name_or_path"));
        Assert.Contains("the demo model (qwen3)", page.Find(".model-folder-ok").TextContent);
        Assert.Contains("qwen3", FieldText(page, "template"));
        Assert.StartsWith(Path.Combine(workspace.Root, "saves", "demo", "lora", "train_"), InputValue(page, "output_dir"));
        // Every group of the Train tab is there.
        foreach (string panel in new[] { "extra", "freeze", "lora", "rlhf", "galore", "badam" })
            Assert.Single(page.FindAll($".panel-{panel}"));
        foreach (string button in new[] { "preview", "save", "load", "start", "abort" })
            Assert.Single(page.FindAll($".btn-{button}"));
        // Without a trainer, Start is disabled and says why.
        Assert.True(page.Find(".btn-start").HasAttribute("disabled"));
        Assert.Contains("No trainer is registered", page.Find(".start-unavailable").TextContent);

        // Idle means idle: no control keeps re-rendering the page.
        int renders = page.RenderCount;
        await Task.Delay(300);
        Assert.Equal(renders, page.RenderCount);
    }

    [Fact]
    public async Task Invalid_values_show_the_engines_message_next_to_their_field()
    {
        using var workspace = new TempWorkspace();
        var (context, page) = await RenderAsync(workspace);
        await using var _ = context;

        page.Find("#opt-learning_rate").Input("-1");
        page.WaitForAssertion(() => Assert.Contains("learning_rate: -1.0 is not allowed; it must be greater than 0", FieldText(page, "learning_rate")));

        page.Find("#opt-cutoff_len").Input("abc");
        // Half-typed text is not flagged while the user is still in the field; leaving it shows the error.
        Assert.DoesNotContain("is not an integer", FieldText(page, "cutoff_len"));
        page.Find("#opt-cutoff_len").Blur();
        page.WaitForAssertion(() => Assert.Contains("cutoff_len: 'abc' is not an integer", FieldText(page, "cutoff_len")));
        // A value that does not parse is not applied.
        Assert.Equal(2048, context.Services.GetRequiredService<BoardState>().Options.Data.CutoffLen);

        page.Find("#opt-max_samples").Input("");
        page.WaitForAssertion(() => Assert.Null(context.Services.GetRequiredService<BoardState>().Options.Data.MaxSamples));

        page.Find("#opt-extra_args").Input("{\"lora_rnk\": 4}");
        page.WaitForAssertion(() => Assert.Contains("extra_args: lora_rnk: unknown key; did you mean lora_rank?", FieldText(page, "extra_args")));

        Assert.Contains("dataset: required for training", FieldText(page, "dataset"));
    }

    [Fact]
    public async Task The_model_folder_is_checked_when_it_changes()
    {
        using var workspace = new TempWorkspace();
        var (context, page) = await RenderAsync(workspace);
        await using var _ = context;

        string empty = Path.Combine(workspace.Root, "empty");
        Directory.CreateDirectory(empty);
        page.Find("#opt-model_name_or_path").Change(empty);
        page.WaitForAssertion(() => Assert.Contains($"'{empty}' has no config.json", FieldText(page, "model_name_or_path")));

        string unsupported = workspace.MakeModel("bert", "bert");
        page.Find("#opt-model_name_or_path").Change(unsupported);
        page.WaitForAssertion(() => Assert.Contains("model_type 'bert', which LlamaBoard cannot load", FieldText(page, "model_name_or_path")));

        string good = workspace.MakeModel("demo", "qwen3");
        page.Find("#opt-model_name_or_path").Change(good);
        page.WaitForAssertion(() => Assert.Contains("qwen3 model", page.Find(".model-folder-ok").TextContent));
        Assert.DoesNotContain("config.json", FieldText(page, "model_name_or_path"));
        Assert.StartsWith(Path.Combine(workspace.Root, "saves", "demo", "lora"), InputValue(page, "output_dir"));
    }

    [Fact]
    public async Task Start_queues_a_run_and_the_monitor_follows_it_to_the_end()
    {
        using var workspace = new TempWorkspace();
        var runner = new FakeTrainingRunner { TotalSteps = 8, StepDelay = TimeSpan.FromMilliseconds(5) };
        var (context, page) = await RenderAsync(workspace, runner);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();
        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.Dataset = ["demo_sft"];
        state.Options.Data.Template = "qwen3";
        await page.InvokeAsync(state.NotifyChanged);

        page.WaitForAssertion(() => Assert.False(page.Find(".btn-start").HasAttribute("disabled")));
        string outputDir = state.Options.Training.OutputDir!;
        await page.Find(".btn-start").ClickAsync(new());

        page.WaitForAssertion(() => Assert.Equal("Completed", page.Find(".run-monitor").GetAttribute("data-status")), TimeSpan.FromSeconds(15));
        Assert.Equal("8", page.Find(".run-monitor").GetAttribute("data-step"));
        Assert.Contains("Step 8/8", page.Find(".progress-text").TextContent);
        Assert.Equal(outputDir, runner.Calls.Single().Training.OutputDir);
        Assert.True(runner.Calls.Single().Training.DoTrain);
        // The form proposes a fresh folder for the next run.
        Assert.NotEqual(outputDir, state.Options.Training.OutputDir);
        var runs = await context.Services.GetRequiredService<RunHistory>().ListAsync(new RunQuery());
        Assert.Equal(RunStatus.Completed, Assert.Single(runs).Status);
    }

    [Fact]
    public async Task A_value_being_typed_is_applied_at_once_so_a_render_from_another_control_keeps_it()
    {
        using var workspace = new TempWorkspace();
        var (context, page) = await RenderAsync(workspace);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();

        // Typed, not yet left: the value is already the board's, and a render caused elsewhere shows it, not the old one.
        page.Find("#opt-per_device_train_batch_size").Input("3");
        Assert.Equal(3, state.Options.Training.PerDeviceTrainBatchSize);
        await page.InvokeAsync(state.NotifyChanged);
        page.WaitForAssertion(() => Assert.Equal("3", InputValue(page, "per_device_train_batch_size")));
        // What the user typed stays as typed ("1e-3" is not rewritten to "0.001" under their cursor).
        page.Find("#opt-learning_rate").Input("1e-3");
        page.Find("#opt-learning_rate").Blur();
        await page.InvokeAsync(state.NotifyChanged);
        Assert.Equal(1e-3, state.Options.Training.LearningRate);
        page.WaitForAssertion(() => Assert.Equal("1e-3", InputValue(page, "learning_rate")));

        // The model path is the exception: it is only acted upon when the user leaves it (no lookups of half a path).
        string before = state.Options.Model.ModelNameOrPath ?? "";
        Assert.Throws<Bunit.MissingEventHandlerException>(() => page.Find("#opt-model_name_or_path").Input("/half/typ"));
        Assert.Equal(before, state.Options.Model.ModelNameOrPath ?? "");
    }

    [Fact]
    public async Task Save_and_load_arguments_round_trip_through_a_yaml_file()
    {
        using var workspace = new TempWorkspace();
        var (context, page) = await RenderAsync(workspace);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();

        page.Find("#opt-learning_rate").Input("2e-4");
        page.Find("#opt-config_name").Input("mine");
        await page.Find(".btn-save").ClickAsync(new());
        string file = Path.Combine(workspace.Root, "configs", "mine.yaml");
        page.WaitForAssertion(() => Assert.Contains(file, page.Find(".train-notice").TextContent));
        Assert.Contains("learning_rate: 0.0002", File.ReadAllText(file));

        page.Find("#opt-learning_rate").Input("1");
        Assert.Equal(1, state.Options.Training.LearningRate);
        var files = context.Services.GetRequiredService<ArgumentFiles>();
        var loaded = files.Load("mine");
        await page.InvokeAsync(() => state.Replace(loaded.Options, keepOutputDir: true));
        page.WaitForAssertion(() => Assert.Equal("0.0002", InputValue(page, "learning_rate")));
    }

    [Fact]
    public async Task The_board_speaks_chinese_when_the_culture_is_chinese()
    {
        var previous = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo("zh-Hans");
        try
        {
            using var workspace = new TempWorkspace();
            var (context, page) = await RenderAsync(workspace);
            await using var _ = context;
            var tabs = page.FindAll(".mud-tab").Select(t => t.TextContent.Trim()).ToList();
            Assert.Equal(["训练", "评估与预测", "对话", "导出"], tabs);
            Assert.Contains("学习率", FieldText(page, "learning_rate"));
        }
        finally
        {
            CultureInfo.CurrentUICulture = previous;
        }
    }
}
