using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>Precision, recall and F of one ROUGE variant, in [0, 1].</summary>
/// <param name="F">2·P·R / (P + R + 1e-8), as the rouge packages compute it.</param>
/// <param name="P">Precision.</param>
/// <param name="R">Recall.</param>
public readonly record struct RougeScore(double F, double P, double R);

/// <summary>ROUGE-1, ROUGE-2 and ROUGE-L of one hypothesis against one reference.</summary>
/// <param name="Rouge1">Unigram overlap.</param>
/// <param name="Rouge2">Bigram overlap.</param>
/// <param name="RougeL">Longest common subsequence.</param>
public readonly record struct RougeScores(RougeScore Rouge1, RougeScore Rouge2, RougeScore RougeL);

/// <summary>
/// ROUGE as the <c>rouge-chinese</c> package (<c>Rouge().get_scores(hyp, ref)</c>, version 1.0.3) computes it on
/// space-separated words: what LLaMA-Factory reports as rouge-1, rouge-2 and rouge-l.
/// </summary>
/// <remarks>
/// The text is cut into sentences at Chinese and Western sentence ends (and line breaks), runs of whitespace are
/// collapsed, and the sentences' words are joined into one sequence. ROUGE-N counts <em>distinct</em> n-grams
/// (the package's default <c>exclusive=True</c>): P = |H ∩ R| / |H|, R = |H ∩ R| / |R|. ROUGE-L uses the longest
/// common subsequence of the whole word sequences: P = LCS / hypothesis words, R = LCS / reference words.
/// </remarks>
public static partial class Rouge
{
    [GeneratedRegex("([。！？?])([^”’])")]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"(\.{6})([^”’])")]
    private static partial Regex SixDots();

    [GeneratedRegex("(…{2})([^”’])")]
    private static partial Regex TwoEllipses();

    [GeneratedRegex("([。！？?][”’])([^，。！？?])")]
    private static partial Regex QuotedSentenceEnd();

    /// <summary>Scores <paramref name="hypothesis"/> against <paramref name="reference"/> (words separated by spaces).</summary>
    /// <exception cref="ArgumentException">Either text has no word (the package raises too; callers check first).</exception>
    public static RougeScores Score(string hypothesis, string reference)
    {
        var hyp = Words(hypothesis);
        var refWords = Words(reference);
        if (hyp is null) throw new ArgumentException("The hypothesis has no sentence.", nameof(hypothesis));
        if (refWords is null) throw new ArgumentException("The reference has no sentence.", nameof(reference));
        return new RougeScores(RougeN(hyp, refWords, 1), RougeN(hyp, refWords, 2), RougeL(hyp, refWords));
    }

    /// <summary>The package's <c>cut_sent</c>: a line break after each sentence end, trailing whitespace dropped, split at line breaks.</summary>
    public static string[] CutSentences(string paragraph)
    {
        ArgumentNullException.ThrowIfNull(paragraph);
        paragraph = SentenceEnd().Replace(paragraph, "$1\n$2");
        paragraph = SixDots().Replace(paragraph, "$1\n$2");
        paragraph = TwoEllipses().Replace(paragraph, "$1\n$2");
        paragraph = QuotedSentenceEnd().Replace(paragraph, "$1\n$2");
        return TrimEndPython(paragraph).Split('\n');
    }

    /// <summary>The words ROUGE sees: sentences with whitespace collapsed, split at single spaces, concatenated; null when no sentence.</summary>
    static List<string>? Words(string text)
    {
        var sentences = CutSentences(text).Where(s => s.Length > 0).Select(s => string.Join(' ', SplitPython(s))).ToList();
        if (sentences.Count == 0) return null;
        // Python's "".split(" ") is [""]: a whitespace-only sentence contributes one empty word, as in the package.
        return [.. sentences.SelectMany(s => s.Split(' '))];
    }

    static RougeScore RougeN(List<string> hypothesis, List<string> reference, int n)
    {
        var hyp = DistinctNGrams(hypothesis, n);
        var refGrams = DistinctNGrams(reference, n);
        int overlap = hyp.Count(refGrams.Contains);
        double p = hyp.Count == 0 ? 0 : (double)overlap / hyp.Count;
        double r = refGrams.Count == 0 ? 0 : (double)overlap / refGrams.Count;
        return new RougeScore(2.0 * (p * r / (p + r + 1e-8)), p, r);
    }

    static RougeScore RougeL(List<string> hypothesis, List<string> reference)
    {
        int lcs = LcsLength(reference, hypothesis);
        double r = (double)lcs / reference.Count;
        double p = (double)lcs / hypothesis.Count;
        return new RougeScore(2.0 * (p * r / (p + r + 1e-8)), p, r);
    }

    static HashSet<string> DistinctNGrams(List<string> words, int n)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i + n <= words.Count; i++) set.Add(string.Join('\u0001', words.GetRange(i, n)));
        return set;
    }

    /// <summary>Length of the longest common subsequence, two rows of the usual table at a time.</summary>
    public static int LcsLength(IReadOnlyList<string> x, IReadOnlyList<string> y)
    {
        var previous = new int[y.Count + 1];
        var current = new int[y.Count + 1];
        for (int i = 1; i <= x.Count; i++)
        {
            for (int j = 1; j <= y.Count; j++)
                current[j] = string.Equals(x[i - 1], y[j - 1], StringComparison.Ordinal)
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[y.Count];
    }

    /// <summary>Python's whitespace (<c>str.isspace</c>): .NET's plus the four information separators U+001C–U+001F.</summary>
    internal static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>str.split()</c>: words between runs of whitespace.</summary>
    internal static List<string> SplitPython(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool space = i == text.Length || IsPythonSpace(text[i]);
            if (space && start >= 0) { words.Add(text[start..i]); start = -1; }
            else if (!space && start < 0) start = i;
        }
        return words;
    }

    static string TrimEndPython(string text)
    {
        int end = text.Length;
        while (end > 0 && IsPythonSpace(text[end - 1])) end--;
        return text[..end];
    }
}
