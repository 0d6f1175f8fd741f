using Bunit;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Components.Pages;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Evaluation;
using LlamaBoard.Web.Export;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>
/// Paths typed into the board that lie outside its allowed folders (here: the workspace only) are refused in plain
/// words next to their field, and nothing there is listed, read or written.
/// </summary>
public sealed class PathConfinementBoardTests : IDisposable
{
    readonly TempWorkspace workspace = new();
    readonly TempWorkspace elsewhere = new(); // a folder with a real model and datasets, outside the roots

    public void Dispose()
    {
        workspace.Dispose();
        elsewhere.Dispose();
    }

    async Task<(BunitContext Context, IRenderedComponent<BoardPage> Page, BoardState State)> RenderAsync(FakeTrainingRunner? runner = null)
    {
        var context = await BoardTestContext.CreateAsync(workspace, runner,
            services => services.AddSingleton(new BoardRoots([workspace.Root])));
        context.Render<MudPopoverProvider>();
        return (context, context.Render<BoardPage>(), context.Services.GetRequiredService<BoardState>());
    }

    static string FieldText(IRenderedComponent<BoardPage> page, string key) => page.Find($"[data-key='{key}']").TextContent;

    [Fact]
    public async Task A_model_folder_outside_is_refused_and_not_looked_into()
    {
        var runner = new FakeTrainingRunner { TotalSteps = 2 };
        var (context, page, state) = await RenderAsync(runner);
        await using var _ = context;
        string model = elsewhere.MakeModel();
        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.Dataset = ["demo_sft"];
        state.Options.Data.Template = "qwen3";

        page.Find("#opt-model_name_or_path").Change(model);

        page.WaitForAssertion(() => Assert.Contains($"'{model}' is outside the folders this board may use", FieldText(page, "model_name_or_path")));
        // The folder holds a valid qwen3 model, but the board does not say so: it did not read it.
        Assert.Empty(page.FindAll(".model-folder-ok"));
        Assert.DoesNotContain("qwen3 model", page.Markup, StringComparison.Ordinal);
        Assert.True(page.Find(".btn-start").HasAttribute("disabled"));
        Assert.Empty(runner.Calls);

        // The same model inside the workspace is fine.
        page.Find("#opt-model_name_or_path").Change(workspace.MakeModel());
        page.WaitForAssertion(() => Assert.Contains("qwen3 model", page.Find(".model-folder-ok").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_link_inside_the_workspace_to_a_model_outside_is_refused()
    {
        var (context, page, _) = await RenderAsync();
        await using var _ = context;
        string link = Path.Combine(workspace.Root, "models", "linked");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, elsewhere.MakeModel());
        page.Find("#opt-model_name_or_path").Change(link);

        page.WaitForAssertion(() => Assert.Contains($"'{link}' is outside the folders", FieldText(page, "model_name_or_path")));
        Assert.Empty(page.FindAll(".model-folder-ok"));
    }

    [Fact]
    public async Task The_model_list_leaves_out_links_to_models_outside()
    {
        var (context, _, _) = await RenderAsync();
        await using var __ = context;
        workspace.MakeModel("inside");
        Directory.CreateSymbolicLink(Path.Combine(workspace.Root, "models", "linked"), elsewhere.MakeModel("outside"));

        var names = context.Services.GetRequiredService<IModelCatalog>().List().Select(m => m.Name).ToList();

        Assert.Contains("inside", names);
        Assert.DoesNotContain("linked", names);
        Assert.DoesNotContain(names, n => n.StartsWith("linked/", StringComparison.Ordinal));
        // models/demo of the current directory is outside these roots, so the demo entry is not offered either.
        Assert.DoesNotContain("demo", names);
    }

    [Fact]
    public async Task A_dataset_dir_outside_is_not_listed()
    {
        var (context, page, state) = await RenderAsync();
        await using var _ = context;
        string data = elsewhere.MakeData();

        page.Find("#opt-dataset_dir").Input(data);

        page.WaitForAssertion(() => Assert.Contains($"dataset_dir: '{data}' is outside the folders", FieldText(page, "dataset_dir")));
        var catalog = context.Services.GetRequiredService<IDatasetCatalog>();
        var list = catalog.List(data, TrainingStage.Sft);
        Assert.Empty(list.Names);
        Assert.Contains("outside the folders this board may use", list.Problem, StringComparison.Ordinal);
        // Inside, the same datasets are listed.
        Assert.Equal(["demo_sft", "identity"], catalog.List(workspace.MakeData(), TrainingStage.Sft).Names);
        // The preview refuses to read one either.
        state.Options.Data.DatasetDir = data;
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => catalog.PreviewAsync(state.Options, "demo_sft", 0, 5));
    }

    [Fact]
    public async Task An_output_dir_outside_stops_Start_and_nothing_is_written_there()
    {
        var runner = new FakeTrainingRunner { TotalSteps = 2 };
        var (context, page, state) = await RenderAsync(runner);
        await using var _ = context;
        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.Dataset = ["demo_sft"];
        state.Options.Data.Template = "qwen3";
        await page.InvokeAsync(state.NotifyChanged);
        page.WaitForAssertion(() => Assert.False(page.Find(".btn-start").HasAttribute("disabled")));
        string output = Path.Combine(elsewhere.Root, "run");

        page.Find("#opt-output_dir").Input(output);

        page.WaitForAssertion(() => Assert.Contains($"output_dir: '{output}' is outside the folders", FieldText(page, "output_dir")));
        Assert.True(page.Find(".btn-start").HasAttribute("disabled"));
        Assert.Empty(runner.Calls);
        Assert.False(Directory.Exists(output));
        // Extra arguments cannot slip one past either.
        page.Find("#opt-output_dir").Input(Path.Combine(workspace.Root, "saves", "mine"));
        state.ExtraArgs = $$"""{"export_dir": "{{elsewhere.Root}}"}""";
        Assert.Contains(state.Validate().Messages, m => m.Key == "export_dir" && m.Text.Contains("is outside the folders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Export_to_a_folder_outside_is_refused_before_anything_is_written()
    {
        var (context, _, state) = await RenderAsync();
        await using var __ = context;
        string exportDir = Path.Combine(elsewhere.Root, "exported");
        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        state.Options.Export.ExportDir = exportDir;
        var export = context.Services.GetRequiredService<ExportSession>();

        await export.RunAsync(state.Options);

        Assert.Contains($"export_dir: '{exportDir}' is outside the folders", export.Error, StringComparison.Ordinal);
        Assert.Null(export.Result);
        Assert.False(Directory.Exists(exportDir));
        Assert.Contains(state.Validate(OptionsPurpose.Export).Messages, m => m.Key == "export_dir");
    }

    [Fact]
    public async Task Evaluation_results_are_not_written_outside()
    {
        var (context, _, state) = await RenderAsync();
        await using var __ = context;
        string outputDir = Path.Combine(elsewhere.Root, "eval");
        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        var evaluation = context.Services.GetRequiredService<EvaluationSession>();

        await evaluation.RunAsync(state.Options, EvaluationMode.PerplexityText, "Hello there.", outputDir);

        Assert.Contains($"The output folder '{outputDir}' is outside the folders", evaluation.Error, StringComparison.Ordinal);
        Assert.Null(evaluation.Report);
        Assert.False(Directory.Exists(outputDir));
    }

    [Fact]
    public async Task Chat_does_not_load_a_model_or_adapter_from_outside()
    {
        var (context, _, state) = await RenderAsync();
        await using var __ = context;
        var chat = context.Services.GetRequiredService<ChatModelService>();
        state.Options.Model.ModelNameOrPath = elsewhere.MakeModel();

        var error = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => chat.LoadAsync(state.Options, []));
        Assert.Contains("model_name_or_path", error.Message, StringComparison.Ordinal);

        state.Options.Model.ModelNameOrPath = workspace.MakeModel();
        string adapter = Path.Combine(elsewhere.Root, "adapter");
        error = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => chat.LoadAsync(state.Options, [new AdapterChoice("run-x", adapter)]));
        Assert.Contains($"The adapter run-x '{adapter}' is outside", error.Message, StringComparison.Ordinal);
        Assert.Null(chat.Current);
    }

    [Fact]
    public async Task Adapters_of_runs_whose_output_is_outside_are_not_listed()
    {
        var (context, _, _) = await RenderAsync();
        await using var __ = context;
        string model = workspace.MakeModel();
        var history = context.Services.GetRequiredService<RunHistory>();
        foreach (var (name, folder) in new[] { ("inside", Path.Combine(workspace.Root, "saves", "inside")), ("outside", Path.Combine(elsewhere.Root, "outside")) })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "adapter_config.json"), "{}");
            await history.AddAsync(new RunRecord
            {
                Name = name, ModelPath = model, Stage = "sft", FinetuningType = "lora", Datasets = "demo_sft", OptionsYaml = "stage: sft\n",
                Status = RunStatus.Completed, Device = "cpu", CreatedAt = DateTime.UtcNow, OutputDir = folder,
            });
        }

        var adapters = await context.Services.GetRequiredService<AdapterCatalog>().ListAsync(model);

        Assert.Equal(["inside"], adapters.Select(a => a.Label));
        Assert.Empty(await context.Services.GetRequiredService<AdapterCatalog>().ListAsync(elsewhere.MakeModel()));
    }
}
