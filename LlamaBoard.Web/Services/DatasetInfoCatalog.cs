using System.Text.Json;
using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Web.Services;

/// <summary>
/// <see cref="IDatasetCatalog"/> from dataset_info.json alone: names, filtered by stage as LlamaBoard does (ranking
/// datasets for rm and dpo, the others for the rest). Previews need the data worker's reader and templates.
/// </summary>
public sealed class DatasetInfoCatalog : IDatasetCatalog
{
    /// <inheritdoc/>
    public string? PreviewUnavailableReason => "Previewing needs the data pipeline (readers and chat templates), which is not part of this build yet.";

    /// <inheritdoc/>
    public DatasetList List(string datasetDir, TrainingStage stage)
    {
        string file = Path.Combine(string.IsNullOrWhiteSpace(datasetDir) ? "data" : datasetDir, "dataset_info.json");
        if (!File.Exists(file))
            return new([], $"{Path.GetFullPath(file)} does not exist; choose the folder that holds dataset_info.json.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return new([], $"{file} must hold a JSON object of dataset names.");
            bool wantRanking = stage is TrainingStage.Reward or TrainingStage.Dpo;
            var names = document.RootElement.EnumerateObject()
                .Where(p => IsRanking(p.Value) == wantRanking)
                .Select(p => p.Name).ToList();
            return new(names);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return new([], $"{file} cannot be read: {e.Message}");
        }
    }

    static bool IsRanking(JsonElement entry) =>
        entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("ranking", out var ranking) && ranking.ValueKind == JsonValueKind.True;

    /// <inheritdoc/>
    public Task<DatasetPreviewPage> PreviewAsync(LlamaBoardOptions options, string dataset, int page, int pageSize, CancellationToken cancellation = default) =>
        throw new NotSupportedException(PreviewUnavailableReason);
}
