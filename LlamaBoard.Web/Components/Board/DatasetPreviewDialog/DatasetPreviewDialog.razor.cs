using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The "Preview dataset" dialog: pages of one dataset's examples, templated (learned spans and masked spans drawn
/// differently) and raw. Pages come from <see cref="IDatasetCatalog"/>; when previews are unavailable it says why.
/// </summary>
public partial class DatasetPreviewDialog
{
    /// <summary>Examples per page.</summary>
    public const int PageSize = 5;

    string? dataset;
    int page;
    DatasetPreviewPage? current;
    string? error;
    bool loading;

    [Inject] IDatasetCatalog Catalog { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The dialog instance (MudBlazor cascades it). Default: null.</summary>
    [CascadingParameter] public IMudDialogInstance? Dialog { get; set; }

    /// <summary>The options (dataset folder, template, tokenizer) the preview uses. Default: new options.</summary>
    [Parameter] public LlamaBoardOptions Options { get; set; } = new();

    /// <summary>The datasets to choose from; the first is shown. Default: none.</summary>
    [Parameter] public IReadOnlyList<string> Datasets { get; set; } = [];

    /// <inheritdoc/>
    protected override async Task OnInitializedAsync()
    {
        dataset = Datasets.FirstOrDefault();
        if (Catalog.PreviewUnavailableReason is null) await LoadAsync();
    }

    Task FirstPageAsync()
    {
        page = 0;
        return LoadAsync();
    }

    Task PreviousAsync()
    {
        page = Math.Max(0, page - 1);
        return LoadAsync();
    }

    Task NextAsync()
    {
        page++;
        return LoadAsync();
    }

    async Task LoadAsync()
    {
        if (dataset is null) return;
        loading = true;
        try
        {
            current = await Catalog.PreviewAsync(Options, dataset, page, PageSize);
            error = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The data worker's messages name the file, record and what to do; show them as they are.
            error = e.Message;
            current = null;
        }
        finally
        {
            loading = false;
        }
    }
}
