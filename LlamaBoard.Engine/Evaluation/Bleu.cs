namespace LlamaBoard.Engine.Evaluation;

/// <summary>
/// Sentence BLEU as NLTK's <c>sentence_bleu(references, hypothesis, smoothing_function=SmoothingFunction().method3)</c>
/// computes it, with uniform weights over 1- to 4-grams (what LLaMA-Factory reports as bleu-4).
/// </summary>
/// <remarks>
/// <code>
///   p_n = clipped n-gram matches / max(1, hypothesis n-grams)        (clipped by the most in any one reference)
///   method3 (NIST geometric smoothing): the k-th order with no match gets p_n = 1 / (2^k · denominator)
///   BP  = 1 if c &gt; r, 0 if c = 0, else exp(1 − r/c)   (r: the reference length closest to c, shorter on ties)
///   BLEU = BP · exp(Σ ¼ log p_n);  0 when no unigram matches at all
/// </code>
/// </remarks>
public static class Bleu
{
    /// <summary>Highest n-gram order.</summary>
    public const int MaxOrder = 4;

    /// <summary>BLEU-4 of <paramref name="hypothesis"/> against <paramref name="references"/> (tokens of any kind), in [0, 1].</summary>
    /// <exception cref="ArgumentException">No reference.</exception>
    public static double Sentence(IReadOnlyList<IReadOnlyList<string>> references, IReadOnlyList<string> hypothesis)
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(hypothesis);
        if (references.Count == 0) throw new ArgumentException("BLEU needs at least one reference.", nameof(references));

        var numerators = new long[MaxOrder];
        var denominators = new long[MaxOrder];
        for (int n = 1; n <= MaxOrder; n++)
            (numerators[n - 1], denominators[n - 1]) = ModifiedPrecision(references, hypothesis, n);
        if (numerators[0] == 0) return 0;

        int hypLength = hypothesis.Count;
        int refLength = references.Select(r => r.Count).OrderBy(length => Math.Abs(length - hypLength)).ThenBy(length => length).First();
        double brevity = hypLength > refLength ? 1 : hypLength == 0 ? 0 : Math.Exp(1 - (double)refLength / hypLength);

        double logSum = 0;
        int zeros = 0;
        for (int i = 0; i < MaxOrder; i++)
        {
            double p = numerators[i] == 0
                ? 1.0 / (Math.Pow(2, ++zeros) * denominators[i])
                : (double)numerators[i] / denominators[i];
            logSum += Math.Log(p) / MaxOrder;
        }
        return brevity * Math.Exp(logSum);
    }

    /// <summary>Clipped matches and the (at least 1) count of hypothesis n-grams of order <paramref name="n"/>.</summary>
    public static (long Numerator, long Denominator) ModifiedPrecision(IReadOnlyList<IReadOnlyList<string>> references,
                                                                      IReadOnlyList<string> hypothesis, int n)
    {
        var counts = NGrams(hypothesis, n);
        var maxCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var reference in references)
        {
            var referenceCounts = NGrams(reference, n);
            foreach (var gram in counts.Keys)
                maxCounts[gram] = Math.Max(maxCounts.GetValueOrDefault(gram), referenceCounts.GetValueOrDefault(gram));
        }
        long numerator = counts.Sum(kv => (long)Math.Min(kv.Value, maxCounts.GetValueOrDefault(kv.Key)));
        long denominator = Math.Max(1, counts.Values.Sum(v => (long)v));
        return (numerator, denominator);
    }

    /// <summary>Counts of each n-gram, keyed by its tokens joined with a separator no token contains.</summary>
    static Dictionary<string, int> NGrams(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            string key = string.Join('\u0001', Enumerable.Range(i, n).Select(j => tokens[j]));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }
}
