using System.Text.Json;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Engine.Evaluation;

/// <summary>
/// BLEU and ROUGE against published values (NLTK's documented examples, rouge-chinese's own test data) and against
/// Fixtures/metrics/similarity_reference.py, a standard-library restatement of LLaMA-Factory's ComputeSimilarity.
/// </summary>
public sealed class SimilarityMetricsTests
{
    static readonly string[] Hypothesis1 = "It is a guide to action which ensures that the military always obeys the commands of the party".Split(' ');
    static readonly string[] Reference1 = "It is a guide to action that ensures that the military will forever heed Party commands".Split(' ');
    static readonly string[] Reference2 = "It is the guiding principle which guarantees the military forces always being under the command of the Party".Split(' ');
    static readonly string[] Reference3 = "It is the practical guide for the army always to heed the directions of the party".Split(' ');

    [Fact]
    public void Bleu_matches_nltks_documented_examples()
    {
        // nltk.translate.bleu_score docstrings: sentence_bleu([r1, r2, r3], h1) = 0.5045…, and with one reference and
        // SmoothingFunction().method3, 0.4118….
        Assert.Equal(0.5045, Math.Floor(Bleu.Sentence([Reference1, Reference2, Reference3], Hypothesis1) * 1e4) / 1e4);
        Assert.Equal(0.4118, Math.Floor(Bleu.Sentence([Reference1], Hypothesis1) * 1e4) / 1e4);
        // modified_precision doctests: "the the the …" scores 2/7 on unigrams; h1 scores 17/18 on unigrams and 10/17 on bigrams.
        var (num, den) = Bleu.ModifiedPrecision(["the cat is on the mat".Split(' '), "there is a cat on the mat".Split(' ')],
                                                "the the the the the the the".Split(' '), 1);
        Assert.Equal((2L, 7L), (num, den));
        Assert.Equal((17L, 18L), Bleu.ModifiedPrecision([Reference1, Reference2, Reference3], Hypothesis1, 1));
        Assert.Equal((10L, 17L), Bleu.ModifiedPrecision([Reference1, Reference2, Reference3], Hypothesis1, 2));
    }

    [Fact]
    public void Bleu_smooths_missing_orders_and_is_zero_without_unigram_matches()
    {
        // Two characters: no 3- or 4-grams, so method3 gives 1/2 and 1/4 over a denominator of 1.
        double expected = Math.Exp((Math.Log(1.0) + Math.Log(1.0) + Math.Log(0.5) + Math.Log(0.25)) / 4);
        Assert.Equal(expected, Bleu.Sentence([["o", "k"]], ["o", "k"]), 12);
        Assert.Equal(0, Bleu.Sentence([["a"]], ["b"]));
        Assert.Equal(0, Bleu.Sentence([["a"]], []));
        Assert.Throws<ArgumentException>(() => Bleu.Sentence([], ["a"]));
    }

    [Fact]
    public void Rouge_n_matches_rouge_chinese_test_data()
    {
        // rouge-chinese 1.0.3, tests/data.json, first two pairs (rouge-1 and rouge-2 "f").
        var first = Rouge.Score(
            "the #### transcript is a written version of each day 's cnn student news program use this transcript to help students with reading comprehension and vocabulary use the weekly newsquiz to test your knowledge of storie s you saw on cnn student news",
            "this page includes the show transcript use the transcript to help students with reading comprehension and vocabulary at the bottom of the page , comment for a chance to be mentioned on cnn student news . you must be a teacher or a student age # # or older to request a mention on the cnn student news roll call . the weekly newsquiz tests students ' knowledge of even ts in the news");
        Assert.Equal(0.5238095189484127, first.Rouge1.F, 12);
        Assert.Equal(0.6285714285714286, first.Rouge1.P, 12);
        Assert.Equal(0.4489795918367347, first.Rouge1.R, 12);
        Assert.Equal(0.27027026566025497, first.Rouge2.F, 12);
        var second = Rouge.Score(
            "a u.s. citizen was killed in a a shootout in mississippi in #### he was shot in the head and died in a batht ub in omaha , louisiana authorities are investigating the death",
            "the fugitive who killed the marshal was \" extremely dangerous , \" u.s. marshals service director says deputy u.s. marshal josie wells , ## , died after trying to arrest jamie croom \" before he 'd go back to jail , he said , he 'd rather be dead, \" croom 's sister says");
        Assert.Equal(0.2258064468678461, second.Rouge1.F, 12);
        Assert.Equal(0.0, second.Rouge2.F, 12);
    }

    [Fact]
    public void Rouge_l_is_the_longest_common_subsequence_of_the_whole_texts()
    {
        // LCS("a b c d e", "a c e x") = 3: P = 3/4, R = 3/5.
        var scores = Rouge.Score("a c e x", "a b c d e");
        Assert.Equal(0.75, scores.RougeL.P, 12);
        Assert.Equal(0.6, scores.RougeL.R, 12);
        Assert.Equal(2 * 0.75 * 0.6 / (0.75 + 0.6 + 1e-8), scores.RougeL.F, 12);
        Assert.Equal(["一句。", "二句！", "three?", " four"], Rouge.CutSentences("一句。二句！three? four  "));
    }

    [Fact]
    public void Similarity_matches_the_standard_library_reference_script()
    {
        string path = Path.Combine(RepositoryPaths.Root, "LlamaBoard.Tests", "Fixtures", "metrics", "similarity_reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        int cases = 0;
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            string predict = item.GetProperty("predict").GetString()!;
            string label = item.GetProperty("label").GetString()!;
            var words = item.GetProperty("words_predict").EnumerateArray().Select(w => w.GetString()!).ToList();
            Assert.Equal(words, WordSegmenter.Cut(predict));
            var expected = item.GetProperty("scores");
            var actual = SimilarityMetrics.Score(predict, label);
            string what = $"{predict} | {label}";
            Assert.True(expected.GetProperty("rouge-1").GetDouble() == actual.Rouge1, $"rouge-1 {what}: {actual.Rouge1}");
            Assert.True(expected.GetProperty("rouge-2").GetDouble() == actual.Rouge2, $"rouge-2 {what}: {actual.Rouge2}");
            Assert.True(expected.GetProperty("rouge-l").GetDouble() == actual.RougeL, $"rouge-l {what}: {actual.RougeL}");
            Assert.True(expected.GetProperty("bleu-4").GetDouble() == actual.Bleu4, $"bleu-4 {what}: {actual.Bleu4}");
            cases++;
        }
        Assert.True(cases >= 15);
    }

    [Fact]
    public void Average_is_the_mean_of_each_metric()
    {
        var mean = SimilarityMetrics.Average([new SimilarityScores(10, 20, 30, 40), new SimilarityScores(20, 40, 60, 80)]);
        Assert.Equal(15, mean["rouge-1"]);
        Assert.Equal(30, mean["rouge-2"]);
        Assert.Equal(45, mean["rouge-l"]);
        Assert.Equal(60, mean["bleu-4"]);
        Assert.Empty(SimilarityMetrics.Average([]));
    }
}
