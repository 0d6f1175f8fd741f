using System.Text.Json;
using LlamaBoard.Engine.Evaluation;

namespace LlamaBoard.Web.Evaluation;

/// <summary>
/// What a Predict run left in its output folder, read back for the Evaluate tab: the metrics of predict_results.json
/// and eval_results.json (as the engine wrote them, so the page shows exactly what is on disk) and the first rows of
/// generated_predictions.jsonl.
/// </summary>
/// <param name="OutputDir">The folder the engine wrote to.</param>
/// <param name="Metrics">predict_* and eval metrics by their file keys (predict_bleu-4, predict_rouge-1, eval_loss, perplexity, …).</param>
/// <param name="Rows">The first predictions (prompt, predict, label), in file order.</param>
/// <param name="TotalRows">Predictions in the file.</param>
public sealed record PredictReport(string OutputDir, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<PredictionRecord> Rows, int TotalRows)
{
    /// <summary>The metrics the tab shows, in order: the file key and its column heading.</summary>
    public static readonly IReadOnlyList<(string Key, string Heading)> Shown =
    [
        ("predict_bleu-4", "BLEU-4"), ("predict_rouge-1", "ROUGE-1"), ("predict_rouge-2", "ROUGE-2"), ("predict_rouge-l", "ROUGE-L"),
        ("eval_loss", "eval_loss"), ("perplexity", "perplexity"),
    ];

    /// <summary>The metric under <paramref name="key"/>, or null when the run did not report it.</summary>
    public double? Metric(string key) => Metrics.TryGetValue(key, out double value) ? value : null;

    /// <summary>Reads the result files of a finished run in <paramref name="outputDir"/>, keeping the first <paramref name="rows"/> predictions.</summary>
    /// <exception cref="InvalidDataException">A result file is missing or not what the engine writes (names the file).</exception>
    public static PredictReport Read(string outputDir, int rows)
    {
        ArgumentNullException.ThrowIfNull(outputDir);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        ReadMetrics(Path.Combine(outputDir, PredictionFiles.EvalResultsFileName), metrics, required: false);
        ReadMetrics(Path.Combine(outputDir, PredictionFiles.PredictResultsFileName), metrics, required: true);
        string predictions = Path.Combine(outputDir, PredictionFiles.PredictionsFileName);
        if (!File.Exists(predictions))
            throw new InvalidDataException($"The run wrote no {PredictionFiles.PredictionsFileName} in {outputDir}.");
        var records = PredictionFiles.ReadPredictions(predictions);
        return new PredictReport(outputDir, metrics, records.Take(rows).ToList(), records.Count);
    }

    static void ReadMetrics(string path, Dictionary<string, double> into, bool required)
    {
        if (!File.Exists(path))
        {
            if (required) throw new InvalidDataException($"The run wrote no {Path.GetFileName(path)} in {Path.GetDirectoryName(path)}.");
            return;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var property in document.RootElement.EnumerateObject())
                if (property.Value.ValueKind == JsonValueKind.Number) into[property.Name] = property.Value.GetDouble();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a JSON object of metrics ({e.Message}).", e);
        }
    }
}
