using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// A multi-select of the adapters of earlier runs for the top bar's model (<see cref="AdapterCatalog"/>): the list
/// follows the model path and gains a run's adapter as soon as the run ends, without a page reload.
/// </summary>
public partial class AdapterPicker : IDisposable
{
    IReadOnlyList<AdapterChoice> adapters = [];
    IDisposable? subscription;

    /// <summary>The chosen adapter folders. Default: none.</summary>
    [Parameter] public IReadOnlyList<string> Selected { get; set; } = [];
    /// <summary>Called with the new choice (cut to <see cref="Max"/>).</summary>
    [Parameter] public EventCallback<IReadOnlyList<string>> SelectedChanged { get; set; }
    /// <summary>Most adapters that may be chosen; null = no limit. Default: null.</summary>
    [Parameter] public int? Max { get; set; }
    /// <summary>The field's label. Default: empty.</summary>
    [Parameter] public string Label { get; set; } = "";
    /// <summary>Help under the field when adapters exist. Default: null.</summary>
    [Parameter] public string? HelperText { get; set; }
    /// <summary>The input element's id. Default: null.</summary>
    [Parameter] public string? InputId { get; set; }
    /// <summary>CSS classes of the select. Default: null.</summary>
    [Parameter] public string? Class { get; set; }

    [Inject] BoardState State { get; set; } = default!;
    [Inject] AdapterCatalog Catalog { get; set; } = default!;
    [Inject] JobNotifier Notifier { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override async Task OnInitializedAsync()
    {
        State.Changed += OnStateChanged;
        adapters = await Catalog.ListAsync(State.Options.Model.ModelNameOrPath);
    }

    /// <inheritdoc/>
    protected override void OnAfterRender(bool firstRender)
    {
        // A run that ends may have written an adapter: list it.
        if (firstRender)
            subscription = Notifier.Subscribe(change => change.Event is null && !change.Status.IsActive() ? RefreshAsync() : Task.CompletedTask);
    }

    void OnStateChanged() => _ = RefreshAsync();

    Task RefreshAsync() => InvokeAsync(async () =>
    {
        adapters = await Catalog.ListAsync(State.Options.Model.ModelNameOrPath);
        StateHasChanged();
    });

    /// <summary>The run (and checkpoint) name of an adapter folder, as the list shows it.</summary>
    string LabelOf(string? path) => adapters.FirstOrDefault(a => a.Path == path)?.Label ?? Path.GetFileName(path?.TrimEnd('/') ?? "");

    async Task OnChanged(IEnumerable<string?>? values)
    {
        var chosen = values?.OfType<string>().Take(Max ?? int.MaxValue).ToList() ?? [];
        if (!chosen.SequenceEqual(Selected)) await SelectedChanged.InvokeAsync(chosen);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        State.Changed -= OnStateChanged;
        subscription?.Dispose();
    }
}
