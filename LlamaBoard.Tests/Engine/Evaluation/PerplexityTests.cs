using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Evaluation;

public sealed class PerplexityTests
{
    [Fact]
    public void Text_perplexity_equals_exp_of_mean_next_token_nll_from_full_logits()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        DemoModel.EnsureCreated(dir.Path);
        using var loaded = HfModelLoader.Load(dir.Path, ScalarType.Float32, CPU);
        var tokenizer = HfTokenizer.Load(dir.Path);
        string[] lines = ["the quick brown fox jumps over the lazy dog", "", "a", "hello world, hello board"];

        var report = Perplexity.OfTexts(loaded.Model, tokenizer, lines, maxTokens: 1024);

        // Blank lines and lines of one token have nothing to predict.
        int[] scorable = [.. Enumerable.Range(0, lines.Length).Where(i => lines[i].Length > 0 && tokenizer.Encode(lines[i]).Count >= 2)];
        Assert.Contains(0, scorable);
        Assert.DoesNotContain(1, scorable);
        Assert.Equal(scorable, report.Items.Select(i => i.Index));
        Assert.Equal(lines.Length - scorable.Length, report.Skipped);
        foreach (var item in report.Items)
        {
            var ids = tokenizer.Encode(lines[item.Index]).ToArray();
            Assert.Equal(ids.Length - 1, item.Tokens);
            double expected = ReferenceNll(loaded.Model, ids);
            Assert.Equal(expected, item.NegativeLogLikelihood, expected * 1e-5);
            Assert.Equal(Math.Exp(expected / (ids.Length - 1)), item.Perplexity, item.Perplexity * 1e-5);
        }
        double corpus = Math.Exp(report.Items.Sum(i => i.NegativeLogLikelihood) / report.Items.Sum(i => i.Tokens));
        Assert.Equal(corpus, report.CorpusPerplexity, 1e-9);
        Assert.InRange(report.MeanPerplexity, report.Items.Min(i => i.Perplexity), report.Items.Max(i => i.Perplexity));
    }

    [Fact]
    public void Text_is_cut_to_max_tokens()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        DemoModel.EnsureCreated(dir.Path);
        using var loaded = HfModelLoader.Load(dir.Path, ScalarType.Float32, CPU);
        var tokenizer = HfTokenizer.Load(dir.Path);

        var report = Perplexity.OfTexts(loaded.Model, tokenizer, ["one two three four five six seven eight nine ten"], maxTokens: 6);

        Assert.Equal(5, Assert.Single(report.Items).Tokens);
    }

    /// <summary>The whole logits tensor, log-softmax and a gather: the plain way the chunked loss avoids.</summary>
    static double ReferenceNll(DecoderModel model, int[] ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        var logits = model.Forward(input).to_type(ScalarType.Float64);                  // [1, T, V]
        var logProbs = logits[0, ..^1].log_softmax(-1);                                  // [T-1, V]
        var targets = input[0, 1..].unsqueeze(-1);                                       // [T-1, 1]
        return -logProbs.gather(-1, targets).sum().item<double>();
    }
}
