using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Web.Services;

/// <summary>The datasets of a folder that suit a stage, or why none could be listed.</summary>
/// <param name="Names">Dataset names from dataset_info.json, in file order.</param>
/// <param name="Problem">Why the folder could not be read (missing, bad JSON); null when it could.</param>
public sealed record DatasetList(IReadOnlyList<string> Names, string? Problem = null);

/// <summary>A piece of a templated example: text and whether the loss is computed on it (false = masked).</summary>
public sealed record PreviewSpanView(string Text, bool Learned);

/// <summary>One example in the preview: the raw record and, when it could be templated, its spans.</summary>
/// <param name="Index">0-based record index in the dataset.</param>
/// <param name="Raw">The record as stored (JSON).</param>
/// <param name="Spans">The templated sequence split into learned and masked spans; empty when it could not be templated.</param>
/// <param name="Error">Why the record cannot be used; null when it can.</param>
public sealed record DatasetPreviewExample(long Index, string Raw, IReadOnlyList<PreviewSpanView> Spans, string? Error = null);

/// <summary>A page of examples.</summary>
/// <param name="Examples">The page's examples.</param>
/// <param name="HasMore">True when a further page exists.</param>
public sealed record DatasetPreviewPage(IReadOnlyList<DatasetPreviewExample> Examples, bool HasMore);

/// <summary>
/// The board's view of the datasets: names for the multi-select and pages for the "Preview dataset" dialog,
/// implemented over the data pipeline by <see cref="DataWorkerCatalog"/> (tests substitute their own).
/// </summary>
public interface IDatasetCatalog
{
    /// <summary>Datasets in <paramref name="datasetDir"/> that suit <paramref name="stage"/>.</summary>
    DatasetList List(string datasetDir, TrainingStage stage);

    /// <summary>Why previews are unavailable; null when they work.</summary>
    string? PreviewUnavailableReason { get; }

    /// <summary>One page of <paramref name="dataset"/>, templated with the options' template and tokenizer.</summary>
    Task<DatasetPreviewPage> PreviewAsync(LlamaBoardOptions options, string dataset, int page, int pageSize, CancellationToken cancellation = default);
}
