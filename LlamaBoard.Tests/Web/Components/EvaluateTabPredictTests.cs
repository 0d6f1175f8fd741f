using System.Globalization;
using System.Text.Json;
using Bunit;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Evaluation;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>
/// The Evaluate tab's Predict mode over the real engine (the demo model, a few demo_sft examples): metrics equal the
/// engine's result files, the progress bar counts the batches to 100%, predictions are listed, errors and Abort.
/// </summary>
public class EvaluateTabPredictTests
{
    sealed record Rendered(BunitContext Context, IRenderedComponent<EvaluateTab> Tab, BoardState State, EvaluationSession Session) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Context.DisposeAsync();
    }

    /// <summary>The tab in Predict mode with the demo model, demo_sft data and tiny generation settings.</summary>
    static async Task<Rendered> RenderPredictAsync(TempWorkspace workspace)
    {
        var context = await BoardTestContext.CreateAsync(workspace);
        context.Render<MudPopoverProvider>();
        var state = context.Services.GetRequiredService<BoardState>();
        string demo = Path.Combine(workspace.Root, "models", "demo");
        DemoModel.EnsureCreated(demo);
        var o = state.Options;
        o.Model.ModelNameOrPath = demo;
        o.Model.InferDType = LlamaBoard.Engine.Configuration.InferDType.Float32;
        o.Data.Template = "qwen3";
        o.Data.CutoffLen = 64;
        o.Data.DatasetDir = workspace.MakeData();
        o.Data.EvalDataset = ["demo_sft"];
        o.Data.MaxSamples = 3;
        o.Training.PerDeviceEvalBatchSize = 2;
        o.Generating.MaxNewTokens = 4;
        o.Generating.Temperature = 0.7;
        o.Generating.TopP = 0.9;
        state.EvalOutputDir = Path.Combine(workspace.Root, "predict");
        state.NotifyChanged();
        var tab = context.Render<EvaluateTab>();
        var select = tab.FindComponent<MudSelect<EvaluationMode>>();
        await tab.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(EvaluationMode.Predict));
        return new Rendered(context, tab, state, context.Services.GetRequiredService<EvaluationSession>());
    }

    static Dictionary<string, double> ReadMetrics(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
    }

    [Fact]
    public async Task Predict_shows_the_engine_metrics_the_first_predictions_and_a_full_progress_bar()
    {
        using var workspace = new TempWorkspace();
        await using var r = await RenderPredictAsync(workspace);
        var fractions = new List<double>();
        r.Session.Changed += () => { lock (fractions) fractions.Add(r.Session.Progress); };

        r.Tab.Find(".btn-eval-start").Click();
        r.Tab.WaitForState(() => r.Tab.FindAll(".predict-metrics").Count == 1 || r.Tab.FindAll(".eval-failed").Count == 1, TimeSpan.FromSeconds(120));
        Assert.Empty(r.Tab.FindAll(".eval-failed"));

        // Every metric cell equals the value the engine wrote (full precision in data-value, 4 decimals shown).
        string output = r.State.EvalOutputDir;
        var written = ReadMetrics(Path.Combine(output, PredictionFiles.PredictResultsFileName));
        foreach (var (key, value) in ReadMetrics(Path.Combine(output, PredictionFiles.EvalResultsFileName))) written[key] = value;
        var cells = r.Tab.FindAll(".predict-metrics .metric");
        Assert.Equal(["predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "eval_loss", "perplexity"],
                     cells.Select(c => c.GetAttribute("data-key")));
        foreach (var cell in cells)
        {
            double expected = written[cell.GetAttribute("data-key")!];
            Assert.Equal(expected, double.Parse(cell.GetAttribute("data-value")!, CultureInfo.InvariantCulture));
            Assert.Equal(expected.ToString("0.0000", CultureInfo.CurrentCulture), cell.TextContent);
        }
        // A random model's perplexity over a 512-token vocabulary, and scores on LLaMA-Factory's 0-100 scale.
        Assert.InRange(written["perplexity"], 50, 5000);
        Assert.All(SimilarityMetrics.Names, n => Assert.InRange(written["predict_" + n], 0, 100));

        // The listed predictions are the file's, labels from demo_sft.
        var records = PredictionFiles.ReadPredictions(Path.Combine(output, PredictionFiles.PredictionsFileName));
        var rows = r.Tab.FindAll(".prediction");
        Assert.Equal(3, rows.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(records[i].Prompt, rows[i].QuerySelector(".prediction-prompt")!.TextContent);
            Assert.Equal(records[i].Predict, rows[i].QuerySelector(".prediction-predict")!.TextContent);
            Assert.Equal(records[i].Label, rows[i].QuerySelector(".prediction-label")!.TextContent);
            Assert.Contains($"The number is {i}.", records[i].Label, StringComparison.Ordinal);
            Assert.Contains($"Say {i}", records[i].Prompt, StringComparison.Ordinal);
        }
        Assert.Contains(Path.Combine(output, PredictionFiles.PredictResultsFileName), r.Tab.Find(".predict-saved").TextContent, StringComparison.Ordinal);

        // The bar counted the batches (3 examples, batch 2: 2 evaluation + 2 prediction batches) up to 100%.
        var steps = r.Tab.Find(".eval-steps");
        Assert.Equal("100", steps.GetAttribute("data-progress"));
        Assert.Equal("4", steps.GetAttribute("data-step"));
        Assert.Equal("4", steps.GetAttribute("data-total"));
        Assert.Contains("Batch 4 of 4", steps.TextContent, StringComparison.Ordinal);
        List<double> seen;
        lock (fractions) seen = [.. fractions];
        Assert.Equal([0.25, 0.5, 0.75, 1.0], seen.Where(f => f > 0).Distinct());
        Assert.True(r.Tab.Find(".btn-eval-abort").HasAttribute("disabled"));
    }

    [Fact]
    public async Task A_bad_dataset_or_missing_output_folder_is_explained()
    {
        using var workspace = new TempWorkspace();
        await using var r = await RenderPredictAsync(workspace);

        r.State.Options.Data.EvalDataset = ["no_such_set"];
        r.State.NotifyChanged();
        r.Tab.Find(".btn-eval-start").Click();
        // The alert can render a moment before the session counts as finished: wait for both before the next Start.
        r.Tab.WaitForState(() => r.Tab.FindAll(".eval-failed").Count == 1 && !r.Session.IsRunning, TimeSpan.FromSeconds(60));
        string error = r.Tab.Find(".eval-failed").TextContent;
        Assert.Contains("Evaluation failed", error, StringComparison.Ordinal);
        Assert.Contains("no_such_set", error, StringComparison.Ordinal);
        Assert.Empty(r.Tab.FindAll(".predict-metrics"));

        r.State.Options.Data.EvalDataset = null;
        r.State.NotifyChanged();
        r.Tab.Find(".btn-eval-start").Click();
        r.Tab.WaitForState(() => !r.Session.IsRunning && r.Tab.FindAll(".eval-failed").Count == 1 && r.Tab.Find(".eval-failed").TextContent.Contains("eval_dataset", StringComparison.Ordinal),
                           TimeSpan.FromSeconds(60));

        r.State.Options.Data.EvalDataset = ["demo_sft"];
        r.State.EvalOutputDir = " ";
        r.State.NotifyChanged();
        r.Tab.Find(".btn-eval-start").Click();
        r.Tab.WaitForState(() => !r.Session.IsRunning && r.Tab.FindAll(".eval-failed").Count == 1 && r.Tab.Find(".eval-failed").TextContent.Contains("output_dir", StringComparison.Ordinal),
                           TimeSpan.FromSeconds(60));
        Assert.Empty(r.Tab.FindAll(".predict-metrics"));
    }

    [Fact]
    public async Task Abort_stops_a_predict_run_between_batches()
    {
        using var workspace = new TempWorkspace();
        await using var r = await RenderPredictAsync(workspace);
        r.State.Options.Data.MaxSamples = 7;
        r.State.Options.Training.PerDeviceEvalBatchSize = 1;
        r.State.Options.Generating.MaxNewTokens = 200;
        r.State.NotifyChanged();

        r.Tab.Find(".btn-eval-start").Click();
        r.Tab.WaitForState(() => r.Session.Step >= 1, TimeSpan.FromSeconds(60));
        r.Tab.Find(".btn-eval-abort").Click();
        r.Tab.WaitForState(() => r.Tab.FindAll(".eval-cancelled").Count == 1, TimeSpan.FromSeconds(60));
        Assert.True(r.Session.Step < r.Session.TotalSteps, $"stopped at batch {r.Session.Step} of {r.Session.TotalSteps}");
        Assert.Empty(r.Tab.FindAll(".predict-metrics"));
        Assert.Empty(r.Tab.FindAll(".eval-failed"));
        Assert.False(File.Exists(Path.Combine(r.State.EvalOutputDir, PredictionFiles.PredictResultsFileName)));
    }
}
