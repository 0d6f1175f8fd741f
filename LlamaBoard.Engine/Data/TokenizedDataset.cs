using System.Collections;
using LlamaBoard.Engine.Data.Processors;

namespace LlamaBoard.Engine.Data;

/// <summary>The preprocessed samples of one split, ready for the collator.</summary>
public sealed class TokenizedDataset(DataStage stage, IReadOnlyList<TokenizedSample> samples) : IReadOnlyList<TokenizedSample>
{
    /// <summary>The stage the samples were built for.</summary>
    public DataStage Stage { get; } = stage;

    /// <summary>Tokens over all sequences of all samples.</summary>
    public long TotalTokens { get; } = samples.Sum(s => s.TotalTokens);

    /// <inheritdoc/>
    public TokenizedSample this[int index] => samples[index];

    /// <inheritdoc/>
    public int Count => samples.Count;

    /// <inheritdoc/>
    public IEnumerator<TokenizedSample> GetEnumerator() => samples.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Batches of sample indexes for one epoch: a seeded shuffle (different each epoch, the same on every run)
    /// cut into batches of <paramref name="batchSize"/>; the last batch may be shorter.
    /// </summary>
    public IEnumerable<int[]> Batches(int batchSize, int seed, int epoch, bool shuffle = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int[] order = shuffle ? SeededRandom.EpochPermutation(Count, seed, epoch) : [.. Enumerable.Range(0, Count)];
        for (int i = 0; i < order.Length; i += batchSize)
            yield return order[i..Math.Min(i + batchSize, order.Length)];
    }
}
