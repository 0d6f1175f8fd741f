using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>
/// The files Hugging Face's trainer and LLaMA-Factory write for evaluation and prediction, each atomically (a
/// temporary file renamed into place): generated_predictions.jsonl, predict_results.json, eval_results.json and
/// all_results.json (every result so far, merged).
/// </summary>
public static class PredictionFiles
{
    /// <summary>One JSON object per line: prompt, predict, label.</summary>
    public const string PredictionsFileName = "generated_predictions.jsonl";
    /// <summary>Prediction metrics (predict_bleu-4, predict_rouge-1, …).</summary>
    public const string PredictResultsFileName = "predict_results.json";
    /// <summary>Evaluation metrics (eval_loss, perplexity, …).</summary>
    public const string EvalResultsFileName = "eval_results.json";
    /// <summary>Every metric of the run.</summary>
    public const string AllResultsFileName = "all_results.json";

    // Like Python's json.dumps(..., ensure_ascii=False): non-ASCII text stays readable.
    static readonly JsonSerializerOptions Line = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes generated_predictions.jsonl into <paramref name="outputDir"/>.</summary>
    public static string WritePredictions(string outputDir, IEnumerable<PredictionRecord> records)
    {
        string path = Path.Combine(outputDir, PredictionsFileName);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            foreach (var record in records)
            {
                var line = new JsonObject { ["prompt"] = record.Prompt, ["predict"] = record.Predict, ["label"] = record.Label };
                writer.Write(line.ToJsonString(Line));
                writer.Write('\n');
            }
        });
        return path;
    }

    /// <summary>Writes <paramref name="fileName"/> with <paramref name="metrics"/> and merges them into all_results.json.</summary>
    public static string WriteMetrics(string outputDir, string fileName, IReadOnlyDictionary<string, double> metrics)
    {
        var json = new JsonObject();
        foreach (var (key, value) in metrics) json[key] = value;
        string path = Path.Combine(outputDir, fileName);
        AtomicFile.WriteAllText(path, json.ToJsonString(Indented));

        string allPath = Path.Combine(outputDir, AllResultsFileName);
        var all = File.Exists(allPath) && JsonNode.Parse(File.ReadAllText(allPath)) is JsonObject existing ? existing : new JsonObject();
        foreach (var (key, value) in metrics) all[key] = value;
        AtomicFile.WriteAllText(allPath, all.ToJsonString(Indented));
        return path;
    }

    /// <summary>Reads generated_predictions.jsonl back (for the board and tests).</summary>
    /// <exception cref="InvalidDataException">A line is not a prediction record (names the file and line).</exception>
    public static List<PredictionRecord> ReadPredictions(string path)
    {
        var records = new List<PredictionRecord>();
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            JsonObject? node;
            try
            {
                node = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}, line {number}: not JSON ({e.Message}).", e);
            }
            string? Field(string key) => node?[key] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            if (Field("prompt") is not { } prompt || Field("predict") is not { } predict || Field("label") is not { } label)
                throw new InvalidDataException($"{path}, line {number}: a prediction record needs the string keys prompt, predict and label.");
            records.Add(new PredictionRecord(prompt, predict, label));
        }
        return records;
    }
}
