using System.Text.Json;
using Bunit;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Evaluation;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>The Evaluate tab rendered with bUnit over the real engine: perplexity of texts and datasets, errors (Predict: <see cref="EvaluateTabPredictTests"/>).</summary>
public class EvaluateTabTests
{
    static async Task<(BunitContext Context, IRenderedComponent<EvaluateTab> Tab, BoardState State)> RenderAsync(TempWorkspace workspace)
    {
        var context = await BoardTestContext.CreateAsync(workspace);
        context.Render<MudPopoverProvider>();
        var state = context.Services.GetRequiredService<BoardState>();
        string demo = Path.Combine(workspace.Root, "models", "demo");
        DemoModel.EnsureCreated(demo);
        state.Options.Model.ModelNameOrPath = demo;
        state.Options.Model.InferDType = InferDType.Float32;
        state.Options.Data.Template = "qwen3";
        state.Options.Data.CutoffLen = 64;
        state.EvalOutputDir = Path.Combine(workspace.Root, "eval");
        state.NotifyChanged();
        return (context, context.Render<EvaluateTab>(), state);
    }

    [Fact]
    public async Task Dataset_perplexity_is_the_default_mode_and_predict_can_be_chosen()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, _) = await RenderAsync(workspace);
        await using var _ = context;

        Assert.False(tab.Find(".btn-eval-start").HasAttribute("disabled"));
        Assert.True(tab.Find(".btn-eval-abort").HasAttribute("disabled"));
        Assert.Empty(tab.FindAll(".pending-reason"));
        Assert.Empty(tab.FindAll(".ppl-summary"));
        Assert.Empty(tab.FindAll(".eval-results"));

        // Predict is listed and runnable: Start stays enabled, the result tables wait for a run.
        var select = tab.FindComponent<MudSelect<EvaluationMode>>();
        await tab.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(EvaluationMode.Predict));
        Assert.False(tab.Find(".btn-eval-start").HasAttribute("disabled"));
        Assert.Empty(tab.FindAll(".pending-reason"));
        Assert.Contains("BLEU-4", tab.Find(".eval-results").TextContent, StringComparison.Ordinal);
        Assert.Contains("No results yet.", tab.Find(".predictions").TextContent, StringComparison.Ordinal);
        Assert.Empty(tab.FindAll(".eval-steps"));
        // Predict always saves its predictions: the switch shows on and cannot be turned off.
        var predictSwitch = tab.Find("[data-key='predict_with_generate'] input");
        Assert.True(predictSwitch.HasAttribute("checked"));
        Assert.True(predictSwitch.HasAttribute("disabled"));
    }

    [Fact]
    public async Task Text_perplexity_shows_each_line_and_saves_the_report()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, state) = await RenderAsync(workspace);
        await using var _ = context;
        var select = tab.FindComponent<MudSelect<EvaluationMode>>();
        await tab.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(EvaluationMode.PerplexityText));
        tab.Find("#eval-texts").Input("The number is 4.\n\nHello there, world.");

        tab.Find(".btn-eval-start").Click();
        tab.WaitForState(() => tab.FindAll(".ppl-summary").Count == 1, TimeSpan.FromSeconds(60));
        Assert.Equal(2, tab.FindAll(".ppl-item").Count);
        Assert.Equal("2", tab.Find(".ppl-items").TextContent);
        Assert.Contains("Hello there, world.", tab.FindAll(".ppl-item")[1].TextContent, StringComparison.Ordinal);

        string saved = Path.Combine(state.EvalOutputDir, EvaluationSession.ResultsFile);
        Assert.Contains(saved, tab.Find(".ppl-saved").TextContent, StringComparison.Ordinal);
        using var report = JsonDocument.Parse(File.ReadAllText(saved));
        double mean = report.RootElement.GetProperty("mean_perplexity").GetDouble();
        Assert.Equal(mean.ToString("0.000", System.Globalization.CultureInfo.CurrentCulture), tab.Find(".ppl-mean").TextContent);
        Assert.Equal(2, report.RootElement.GetProperty("per_item").GetArrayLength());
        // A random 512-token model is about as unsure as a uniform guess.
        Assert.InRange(mean, 50, 5000);
    }

    [Fact]
    public async Task Dataset_perplexity_runs_on_the_chosen_dataset_and_a_missing_choice_is_explained()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, state) = await RenderAsync(workspace);
        await using var _ = context;

        tab.Find(".btn-eval-start").Click();
        tab.WaitForState(() => tab.FindAll(".eval-failed").Count == 1, TimeSpan.FromSeconds(30));
        Assert.Contains("eval_dataset", tab.Find(".eval-failed").TextContent, StringComparison.Ordinal);

        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.EvalDataset = ["demo_sft"];
        state.Options.Data.MaxSamples = 3;
        state.NotifyChanged();
        tab.Find(".btn-eval-start").Click();
        tab.WaitForState(() => tab.FindAll(".ppl-summary").Count == 1, TimeSpan.FromSeconds(60));
        Assert.Empty(tab.FindAll(".eval-failed"));
        Assert.Equal("3", tab.Find(".ppl-items").TextContent);
        Assert.Contains("scoring 3 examples of demo_sft", tab.Find(".eval-log").TextContent, StringComparison.Ordinal);
    }
}
