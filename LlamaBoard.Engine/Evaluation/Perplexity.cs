using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>The perplexity of one text or example.</summary>
/// <param name="Index">Position in the input (0-based).</param>
/// <param name="Text">The line, for text input; null for dataset examples.</param>
/// <param name="Tokens">Predicted tokens (targets).</param>
/// <param name="NegativeLogLikelihood">Summed negative log-likelihood of those tokens, in nats.</param>
public sealed record PerplexityItem(int Index, string? Text, int Tokens, double NegativeLogLikelihood)
{
    /// <summary>exp(mean negative log-likelihood per token).</summary>
    public double Perplexity => Math.Exp(NegativeLogLikelihood / Tokens);
}

/// <summary>Per-item perplexities and their summaries.</summary>
/// <param name="Items">Scored items in input order.</param>
/// <param name="Skipped">Items with fewer than one target token (blank or one-token lines).</param>
public sealed record PerplexityReport(IReadOnlyList<PerplexityItem> Items, int Skipped)
{
    /// <summary>Mean of the per-item perplexities (what LLaMA-Factory's perplexity script reports as the average).</summary>
    public double MeanPerplexity => Items.Count == 0 ? double.NaN : Items.Average(i => i.Perplexity);

    /// <summary>exp(total negative log-likelihood / total tokens): the corpus-level perplexity.</summary>
    public double CorpusPerplexity => Items.Count == 0 ? double.NaN : Math.Exp(Items.Sum(i => i.NegativeLogLikelihood) / Items.Sum(i => i.Tokens));
}

/// <summary>
/// Perplexity of a causal LM (the counterpart of LLaMA-Factory's perplexity script): next-token negative
/// log-likelihood of each text or example, computed with the trainer's chunked loss (no full logits), one item at a
/// time inside its own dispose scope.
/// </summary>
public static class Perplexity
{
    /// <summary>Scores each line of text on its own (tokenized with the tokenizer's special tokens, cut to <paramref name="maxTokens"/>).</summary>
    public static PerplexityReport OfTexts(DecoderModel model, HfTokenizer tokenizer, IEnumerable<string> lines, int maxTokens,
                                           CancellationToken cancellation = default)
    {
        var items = new List<PerplexityItem>();
        int skipped = 0, index = 0;
        foreach (string line in lines)
        {
            cancellation.ThrowIfCancellationRequested();
            var ids = tokenizer.Encode(line).Take(maxTokens).ToArray();
            if (ids.Length < 2 || string.IsNullOrWhiteSpace(line)) { skipped++; index++; continue; }
            items.Add(Score(model, new TokenSequence(ids, ids), index, line));
            index++;
        }
        return new PerplexityReport(items, skipped);
    }

    /// <summary>Scores each example of a prepared dataset (labels as the stage's processor set them: responses for sft).</summary>
    public static PerplexityReport OfSamples(DecoderModel model, TokenizedDataset samples, CancellationToken cancellation = default)
    {
        var items = new List<PerplexityItem>();
        int skipped = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var sequence = samples[i].Main;
            if (sequence.Labels.Skip(1).All(l => l == TokenSequence.IgnoreIndex)) { skipped++; continue; }
            items.Add(Score(model, sequence, i, null));
        }
        return new PerplexityReport(items, skipped);
    }

    /// <summary>
    /// Scores one sequence: <paramref name="sequence"/>'s labels hold the target ids where a token is learned and
    /// <see cref="TokenSequence.IgnoreIndex"/> elsewhere (aligned with the input ids, shifted inside the loss).
    /// </summary>
    /// <exception cref="ArgumentException">The sequence has no target token.</exception>
    public static PerplexityItem OfSequence(DecoderModel model, TokenSequence sequence, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Labels.Length != sequence.InputIds.Length || sequence.Labels.Skip(1).All(l => l == TokenSequence.IgnoreIndex))
            throw new ArgumentException($"sequence {index} has no target token to score (labels must align with the input ids).", nameof(sequence));
        return Score(model, sequence, index, null);
    }

    static PerplexityItem Score(DecoderModel model, TokenSequence sequence, int index, string? text)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Device;
        long length = sequence.InputIds.Length;
        var ids = tensor(sequence.InputIds.Select(i => (long)i).ToArray(), [1, length], device: device);
        var labels = tensor(sequence.Labels.Select(i => (long)i).ToArray(), [1, length], device: device);
        var batch = new TokenBatch(ids, ones_like(ids), labels, arange(length, dtype: ScalarType.Int64, device: device).unsqueeze(0));
        double nll = CausalLmObjective.LossSum(model, batch).to_type(ScalarType.Float64).item<double>();
        int targets = sequence.Labels.Skip(1).Count(l => l != TokenSequence.IgnoreIndex);
        return new PerplexityItem(index, text, targets, nll);
    }
}
