using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// Dataset folder, a multi-select of its datasets that suit the stage (from <see cref="IDatasetCatalog"/>), and the
/// "Preview dataset" button. Edits <c>dataset</c> (Train tab) or <c>eval_dataset</c> (Evaluate tab).
/// </summary>
public partial class DatasetPicker
{
    DatasetList list = new([]);

    [Inject] IDatasetCatalog Catalog { get; set; } = default!;
    [Inject] IDialogService Dialogs { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The options edited. Required; default: new options.</summary>
    [Parameter, EditorRequired] public LlamaBoardOptions Options { get; set; } = new();

    /// <summary>Which key the selection edits: <c>dataset</c> or <c>eval_dataset</c>. Default: "dataset".</summary>
    [Parameter] public string Key { get; set; } = "dataset";

    /// <summary>Raised after a change. Default: none.</summary>
    [Parameter] public EventCallback Changed { get; set; }

    /// <summary>The cascaded validation messages. Default: null.</summary>
    [CascadingParameter] public ValidationReport? Report { get; set; }

    IReadOnlyList<string>? Current
    {
        get => Key == "eval_dataset" ? Options.Data.EvalDataset : Options.Data.Dataset;
        set
        {
            if (Key == "eval_dataset") Options.Data.EvalDataset = value;
            else Options.Data.Dataset = value;
        }
    }

    static readonly string[] None = [];

    // The same instance on every render: MudSelect treats a new collection as a new selection.
    IReadOnlyList<string> Selected => Current ?? None;

    string? ErrorText
    {
        get
        {
            var errors = Report?.For(Key).Where(m => m.Severity == MessageSeverity.Error).Select(m => m.Text).ToList();
            return errors is { Count: > 0 } ? string.Join(" ", errors) : null;
        }
    }

    /// <inheritdoc/>
    protected override void OnParametersSet() => list = Catalog.List(Options.Data.DatasetDir, Options.Finetuning.Stage);

    async Task OnDirChanged()
    {
        list = Catalog.List(Options.Data.DatasetDir, Options.Finetuning.Stage);
        if (Current is { } chosen)
        {
            var kept = chosen.Where(list.Names.Contains).ToList();
            Current = kept.Count == 0 ? null : kept;
        }
        await Changed.InvokeAsync();
    }

    async Task OnSelected(IEnumerable<string?>? values)
    {
        var chosen = values?.OfType<string>().ToList();
        if (chosen is not null && chosen.SequenceEqual(Selected)) return;
        Current = chosen is { Count: > 0 } ? chosen : null;
        await Changed.InvokeAsync();
    }

    async Task PreviewAsync()
    {
        var parameters = new DialogParameters<DatasetPreviewDialog>
        {
            { d => d.Options, Options },
            { d => d.Datasets, Selected.ToList() },
        };
        await Dialogs.ShowAsync<DatasetPreviewDialog>(L["PreviewDataset"], parameters,
            new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseButton = true });
    }
}
