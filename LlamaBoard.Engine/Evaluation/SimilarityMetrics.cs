namespace LlamaBoard.Engine.Evaluation;

/// <summary>One prediction's scores, ×100 and rounded to 4 decimals as LLaMA-Factory stores them.</summary>
/// <param name="Rouge1">rouge-1 F.</param>
/// <param name="Rouge2">rouge-2 F.</param>
/// <param name="RougeL">rouge-l F.</param>
/// <param name="Bleu4">bleu-4.</param>
public readonly record struct SimilarityScores(double Rouge1, double Rouge2, double RougeL, double Bleu4);

/// <summary>
/// LLaMA-Factory's <c>ComputeSimilarity</c> (train/sft/metric.py): for each prediction and label, ROUGE-1/2/L F
/// on jieba words (<see cref="WordSegmenter"/>, <see cref="Rouge"/>) and BLEU-4 on characters with NIST
/// smoothing (<see cref="Bleu"/>), each ×100 and rounded to 4 decimals; the reported value is the mean.
/// </summary>
public static class SimilarityMetrics
{
    /// <summary>Metric names in LLaMA-Factory's order (the keys of predict_results.json after the prefix).</summary>
    public static readonly IReadOnlyList<string> Names = ["rouge-1", "rouge-2", "rouge-l", "bleu-4"];

    /// <summary>The scores of one prediction against its label.</summary>
    public static SimilarityScores Score(string prediction, string label)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(label);
        string hypothesis = string.Join(' ', WordSegmenter.Cut(prediction));
        string reference = string.Join(' ', WordSegmenter.Cut(label));
        RougeScores rouge = Rouge.SplitPython(hypothesis).Count == 0 || Rouge.SplitPython(reference).Count == 0
            ? default
            : Rouge.Score(hypothesis, reference);
        double bleu = Bleu.Sentence([WordSegmenter.Characters(label)], WordSegmenter.Characters(prediction));
        return new SimilarityScores(Percent(rouge.Rouge1.F), Percent(rouge.Rouge2.F), Percent(rouge.RougeL.F), Percent(bleu));
    }

    /// <summary>The mean of each metric over the pairs, keyed by <see cref="Names"/>; empty input gives an empty result.</summary>
    public static IReadOnlyDictionary<string, double> Average(IEnumerable<SimilarityScores> scores)
    {
        var list = scores.ToList();
        if (list.Count == 0) return new Dictionary<string, double>();
        return new Dictionary<string, double>
        {
            ["rouge-1"] = list.Average(s => s.Rouge1),
            ["rouge-2"] = list.Average(s => s.Rouge2),
            ["rouge-l"] = list.Average(s => s.RougeL),
            ["bleu-4"] = list.Average(s => s.Bleu4),
        };
    }

    /// <summary>Python's <c>round(x * 100, 4)</c> (half to even).</summary>
    static double Percent(double value) => Math.Round(value * 100, 4, MidpointRounding.ToEven);
}
