using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Services;

/// <summary>
/// <see cref="IDatasetCatalog"/> over the data pipeline: names from <see cref="DatasetRegistry"/> filtered by stage as
/// LlamaBoard does (ranking datasets for rm and dpo, the others for the rest), and previews from
/// <see cref="DatasetPreview"/>, templated with the form's template and the model folder's tokenizer. A dataset_dir
/// or model folder outside the board's allowed folders (<see cref="BoardRoots"/>) is neither listed nor read.
/// </summary>
public sealed class DataWorkerCatalog(BoardRoots roots) : IDatasetCatalog
{
    /// <inheritdoc/>
    public string? PreviewUnavailableReason => null;

    /// <inheritdoc/>
    public DatasetList List(string datasetDir, TrainingStage stage)
    {
        string folder = string.IsNullOrWhiteSpace(datasetDir) ? "data" : datasetDir;
        if (roots.Refusal(folder, "dataset_dir") is { } refusal) return new([], refusal);
        try
        {
            var registry = DatasetRegistry.Load(folder);
            bool wantRanking = stage is TrainingStage.Reward or TrainingStage.Dpo;
            return new([.. registry.Names.Where(name => registry.Get(name).Ranking == wantRanking)]);
        }
        catch (DatasetException e)
        {
            return new([], e.Message);
        }
    }

    /// <inheritdoc/>
    public Task<DatasetPreviewPage> PreviewAsync(LlamaBoardOptions options, string dataset, int page, int pageSize, CancellationToken cancellation = default) =>
        Task.Run(() =>
        {
            if ((roots.Refusal(options.Data.DatasetDir, "dataset_dir") ?? roots.ModelRefusal(options.Model.ModelNameOrPath, "model_name_or_path")) is { } refusal)
                throw new UnauthorizedAccessException(refusal);
            var stage = DataStages.From(options.Finetuning.Stage);
            var tokenizer = TokenizerOf(options.Model.ModelNameOrPath);
            // The preview reads from the start of the dataset; one record more than the page tells whether another page exists.
            int wanted = (page + 1) * pageSize + 1;
            var records = DatasetPreview.Preview(DataPipelineOptions.From(options), dataset, stage, wanted, tokenizer);
            var shown = records.Skip(page * pageSize).Take(pageSize).Select(r => ToView(r, tokenizer is null)).ToList();
            return new DatasetPreviewPage(shown, records.Count > (page + 1) * pageSize);
        }, cancellation);

    static DatasetPreviewExample ToView(PreviewExample record, bool noTokenizer)
    {
        var spans = new List<PreviewSpanView>();
        foreach (var sequence in record.Sequences)
        {
            // Pairwise and KTO records have several sequences: name each one.
            if (record.Sequences.Count > 1) spans.Add(new PreviewSpanView($"[{sequence.Name}]\n", Learned: false));
            spans.AddRange(sequence.Spans.Select(s => new PreviewSpanView(s.Text, s.Learned)));
            if (record.Sequences.Count > 1) spans.Add(new PreviewSpanView("\n", Learned: false));
        }
        string? error = record.Error ?? (noTokenizer && record.Example is not null
            ? "The model folder has no tokenizer.json, so only the raw record is shown."
            : null);
        return new DatasetPreviewExample(record.RecordIndex, record.Raw, spans, error);
    }

    static ITextTokenizer? TokenizerOf(string? modelFolder)
    {
        if (string.IsNullOrWhiteSpace(modelFolder) || !File.Exists(Path.Combine(modelFolder, "tokenizer.json"))) return null;
        return new HfTextTokenizer(HfTokenizer.Load(modelFolder));
    }
}
