using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Export tab: shard size, dtype, format (Hugging Face folder or GGUF and its tensor type), merge device and
/// export folder, bound to the circuit's options, with the export checks shown. Export stays disabled, with the
/// reason shown, until the export engine is part of the build.
/// </summary>
public partial class ExportTab : IDisposable
{
    [Inject] BoardState State { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized() => State.Changed += OnStateChanged;

    void OnStateChanged() => _ = InvokeAsync(StateHasChanged);

    /// <inheritdoc/>
    public void Dispose() => State.Changed -= OnStateChanged;
}
