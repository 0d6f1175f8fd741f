using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Pages;

/// <summary>
/// The board: the top bar and the Train, Evaluate &amp; Predict, Chat and Export tabs over one form
/// (<see cref="BoardState"/>). It validates the form after every change and cascades the messages, so each field
/// shows its own.
/// </summary>
public partial class BoardPage : IDisposable
{
    ValidationReport report = new();

    [Inject] BoardState State { get; set; } = default!;
    [Inject] RuntimeStatus Runtime { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized()
    {
        report = State.Validate();
        State.Changed += OnStateChanged;
    }

    void OnStateChanged() => _ = InvokeAsync(() =>
    {
        report = State.Validate();
        StateHasChanged();
    });

    /// <inheritdoc/>
    public void Dispose() => State.Changed -= OnStateChanged;
}
