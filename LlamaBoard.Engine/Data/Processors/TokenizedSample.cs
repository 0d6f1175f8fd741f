namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// One token sequence with its labels. In training stages <see cref="Labels"/> is aligned with
/// <see cref="InputIds"/> (-100 where nothing is learned). For prompt-only data (unsupervised stage) it holds
/// the reference response instead, for generation metrics.
/// <para>
/// Packed rows carry <see cref="SegmentIds"/> (1, 1, 2, 2, 2, …: which sample each token belongs to; the
/// collator turns them into the attention mask, so a token attends only within its own sample) and
/// <see cref="PositionIds"/> that restart at 0 at each sample.
/// </para>
/// </summary>
public sealed record TokenSequence(int[] InputIds, int[] Labels, int[]? SegmentIds = null, int[]? PositionIds = null)
{
    /// <summary>Ignored label value (PyTorch cross_entropy's ignore_index).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;

    /// <summary>Number of learned (non-ignored) labels.</summary>
    public int LearnedTokens => Labels.Count(l => l != IgnoreIndex);
}

/// <summary>
/// One preprocessed sample of any stage: <see cref="Main"/> is the sequence (the chosen one for pairwise data),
/// <see cref="Rejected"/> the dispreferred sequence (pairwise), <see cref="Kl"/> the mismatched KL sequence and
/// <see cref="KtoTag"/> the desirability (KTO).
/// </summary>
public sealed record TokenizedSample(TokenSequence Main, TokenSequence? Rejected = null, TokenSequence? Kl = null, bool? KtoTag = null)
{
    /// <summary>Tokens in every sequence of the sample (for throughput figures).</summary>
    public long TotalTokens => Main.Length + (Rejected?.Length ?? 0) + (Kl?.Length ?? 0);
}
