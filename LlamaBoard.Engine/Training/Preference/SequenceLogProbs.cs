using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Loss;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>What one forward pass gives the sequence-level preference losses.</summary>
/// <param name="Sums">(B) fp32: Σ log p(label) over each row's learned tokens (the response); differentiable.</param>
/// <param name="Counts">(B) fp32: learned tokens per row (at least 1, so averages never divide by zero).</param>
/// <param name="MeanLogits">(B) fp32, no gradient: each row's logits averaged over positions and vocabulary (null when not asked for).</param>
public sealed record SequenceScores(Tensor Sums, Tensor Counts, Tensor? MeanLogits)
{
    /// <summary>(B) log-probabilities averaged per learned token (IPO, ORPO, SimPO, and the SFT term of pref_ftx).</summary>
    public Tensor Averages => Sums / Counts;
}

/// <summary>
/// Sequence log-probabilities log π(response | prompt) for a batch of rows (LLaMA-Factory's get_batch_logps): the
/// model runs once, and only the positions whose next label is learned go through the LM head, chunked
/// (<see cref="ChunkedLogProbs"/>), so no (B, T, vocab) logits exist.
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>Scores every row of <paramref name="tokens"/> (labels aligned with input_ids, -100 = not learned).</summary>
    /// <remarks>No dispose scope of its own: with activation checkpointing the forward context must live until backward.</remarks>
    /// <param name="model">The policy or reference.</param>
    /// <param name="tokens">(B, T) rows, right-padded.</param>
    /// <param name="meanLogits">Also compute the mean-logit metric.</param>
    public static SequenceScores Compute(DecoderModel model, TokenBatch tokens, bool meanLogits = true)
    {
        var hidden = model.ForwardHidden(tokens.InputIds, tokens.PositionIds, tokens.AttentionMask); // (B, T, H)
        long rows = hidden.shape[0], length = hidden.shape[1];
        // Position t predicts label t + 1 (HF's shift).
        var targets = tokens.Labels.narrow(1, 1, length - 1);                                       // (B, T-1)
        var keep = targets.ne(TokenSequence.IgnoreIndex);                                          // (B, T-1)
        var selected = hidden.narrow(1, 0, length - 1)[keep];                                       // (M, H)
        var rowOf = arange(rows, dtype: ScalarType.Int64, device: hidden.device).unsqueeze(1).expand(rows, length - 1)[keep]; // (M)
        var tokenLogps = ChunkedLogProbs.PerToken(model, selected, targets[keep]);                  // (M)
        var sums = zeros(rows, dtype: ScalarType.Float32, device: hidden.device).index_add(0, rowOf, tokenLogps, 1); // (B)
        var counts = keep.sum(1).to_type(ScalarType.Float32).clamp_min(1);                         // (B)
        var means = meanLogits ? ChunkedLogProbs.MeanLogit(model, hidden.reshape(rows * length, -1)).view(rows, length).mean([1]) : null; // (B)
        return new SequenceScores(sums, counts, means);
    }
}
