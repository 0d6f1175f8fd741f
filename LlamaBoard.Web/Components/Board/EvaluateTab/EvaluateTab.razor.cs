using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Evaluate &amp; Predict tab: evaluation dataset, cutoff, max samples, batch size, save predictions, decoding
/// settings and output folder, bound to the circuit's options. Its actions stay disabled, with the reason shown,
/// until evaluation (trainer + inference engine) is part of the build.
/// </summary>
public partial class EvaluateTab : IDisposable
{
    [Inject] BoardState State { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized() => State.Changed += OnStateChanged;

    void OnStateChanged() => _ = InvokeAsync(StateHasChanged);

    /// <inheritdoc/>
    public void Dispose() => State.Changed -= OnStateChanged;
}
