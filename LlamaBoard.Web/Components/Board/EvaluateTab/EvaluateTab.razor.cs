using System.Globalization;
using LlamaBoard.Web.Evaluation;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Evaluate &amp; Predict tab: perplexity of the evaluation datasets (or of typed texts) for the top bar's model
/// and adapters, with cutoff and max samples, run by <see cref="EvaluationSession"/> with Start/Abort, progress lines,
/// the mean and corpus perplexity, per-item values, and the report saved in the output folder. Predict generates a
/// reply per example with the tab's sampling settings and shows a batch progress bar, BLEU-4, ROUGE-1/2/L, eval_loss,
/// perplexity and the first generated predictions (prompt, prediction, label).
/// </summary>
public partial class EvaluateTab : IDisposable
{
    /// <summary>Items listed on the page; the saved report has them all.</summary>
    const int MaxRows = 100;

    EvaluationMode mode = EvaluationMode.PerplexityDataset;
    string text = "";
    int renderPending;

    [Inject] BoardState State { get; set; } = default!;
    [Inject] EvaluationSession Evaluation { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized()
    {
        State.Changed += OnChanged;
        Evaluation.Changed += OnChanged;
    }

    void OnChanged()
    {
        if (Interlocked.Exchange(ref renderPending, 1) == 1) return;
        _ = InvokeAsync(() =>
        {
            Volatile.Write(ref renderPending, 0);
            StateHasChanged();
        });
    }

    async Task StartAsync()
    {
        // A second click that reaches the server before the button re-renders disabled starts nothing.
        if (Evaluation.IsRunning) return;
        var (options, _) = State.Build();
        await Evaluation.RunAsync(options, mode, text, State.EvalOutputDir);
    }

    static string Metric(double value) => value.ToString("0.0000", CultureInfo.CurrentCulture);

    static string Number(double value) => double.IsFinite(value) ? value.ToString("0.000", CultureInfo.CurrentCulture) : "—";

    /// <inheritdoc/>
    public void Dispose()
    {
        State.Changed -= OnChanged;
        Evaluation.Changed -= OnChanged;
    }
}
