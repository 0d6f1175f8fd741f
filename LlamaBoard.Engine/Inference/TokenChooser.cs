using static TorchSharp.torch;

namespace LlamaBoard.Engine.Inference;

/// <summary>
/// Picks the next token of every row from its logits, as transformers' generate does: the repetition penalty,
/// then (when sampling) temperature, top-k and top-p, then the arg-max or a draw from the remaining distribution
/// with this generation's own <see cref="Generator"/>.
/// </summary>
internal sealed class TokenChooser : IDisposable
{
    readonly SamplingOptions options;
    readonly Generator? generator;

    /// <summary>Creates the chooser; sampling gets a generator on <paramref name="device"/> seeded with the request's seed.</summary>
    public TokenChooser(SamplingOptions options, Device device)
    {
        this.options = options;
        if (!options.IsGreedy)
        {
            ulong seed = options.Seed is { } s ? unchecked((ulong)s) : (ulong)Random.Shared.NextInt64();
            generator = new Generator(seed, device);
        }
    }

    /// <summary>
    /// The next token of each row: <paramref name="logits"/> (B, V) float, <paramref name="seen"/> (B, V) bool marks
    /// the tokens each row has already (for the repetition penalty; null when the penalty is off) → (B) int64.
    /// </summary>
    public Tensor Choose(Tensor logits, Tensor? seen)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to_type(ScalarType.Float32);                                      // (B, V)
        if (seen is not null && options.RepetitionPenalty != 1.0)
            scores = RepetitionPenalty(scores, seen, options.RepetitionPenalty);
        if (options.IsGreedy)
            return scores.argmax(-1).MoveToOuterDisposeScope();                              // (B)
        if (options.Temperature != 1.0) scores = scores / options.Temperature;
        if (options.TopK > 0) scores = TopK(scores, options.TopK);
        if (options.TopP < 1.0) scores = TopP(scores, options.TopP);
        var probabilities = scores.softmax(-1);                                               // (B, V)
        return probabilities.multinomial(1, generator: generator).squeeze(-1).MoveToOuterDisposeScope(); // (B)
    }

    /// <summary>
    /// transformers' RepetitionPenaltyLogitsProcessor (CTRL, Keskar et al.): seen tokens' logits are divided by the
    /// penalty when positive and multiplied by it when negative, so they always become less likely.
    /// </summary>
    public static Tensor RepetitionPenalty(Tensor scores, Tensor seen, double penalty)
    {
        var penalized = where(scores.lt(0), scores * penalty, scores / penalty);          // (B, V)
        return where(seen, penalized, scores);
    }

    /// <summary>transformers' TopKLogitsWarper: every logit below the k-th largest of its row becomes −∞.</summary>
    public static Tensor TopK(Tensor scores, int k)
    {
        k = (int)Math.Min(k, scores.shape[^1]);
        var kth = scores.topk(k, dim: -1).values.narrow(-1, k - 1, 1);                      // (B, 1)
        return scores.masked_fill(scores.lt(kth), double.NegativeInfinity);
    }

    /// <summary>
    /// transformers' TopPLogitsWarper: sorted ascending, the tokens whose cumulative probability stays at or below
    /// 1 − top_p are removed; the most likely token always stays.
    /// </summary>
    public static Tensor TopP(Tensor scores, double topP)
    {
        var (sorted, order) = scores.sort(dim: -1, descending: false);                       // (B, V) each
        var cumulative = sorted.softmax(-1).cumsum(-1);                                      // (B, V)
        var removeSorted = cumulative.le(1 - topP);
        removeSorted.narrow(-1, removeSorted.shape[^1] - 1, 1).fill_(false);                 // keep at least one
        var remove = zeros_like(removeSorted).scatter_(-1, order, removeSorted);              // back to vocab order
        return scores.masked_fill(remove, double.NegativeInfinity);
    }

    public void Dispose() => generator?.Dispose();
}
