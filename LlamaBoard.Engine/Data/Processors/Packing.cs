namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Packs samples into rows of at most cutoff_len tokens (first-fit by the largest sample that still fits, as
/// LLaMA-Factory's greedy knapsack) so little compute is spent on padding. Samples never see each other:
/// <code>
///   tokens      a a a b b c c c c
///   segment     1 1 1 2 2 3 3 3 3     → attention mask (0 = padding)
///   position    0 1 2 0 1 0 1 2 3     → each sample starts at position 0
///
///   attends?    a a a b b c …         block-diagonal and causal:
///          a    x                     a token sees only earlier tokens
///          a    x x                   of its own sample
///          a    x x x
///          b          x
///          b          x x
///          c              x …
/// </code>
/// </summary>
public static class Packing
{
    /// <summary>Packs supervised samples (labels stay aligned; a sample longer than the row is cut).</summary>
    public static List<TokenizedSample> Pack(IReadOnlyList<TokenizedSample> samples, int cutoff)
    {
        var lengths = samples.Select(s => Math.Min(s.Main.Length, cutoff)).ToArray();
        var rows = new List<TokenizedSample>();
        foreach (var bin in Bins(lengths, cutoff))
        {
            int total = bin.Sum(i => lengths[i]);
            var input = new int[total];
            var labels = new int[total];
            var segments = new int[total];
            var positions = new int[total];
            int offset = 0;
            for (int k = 0; k < bin.Count; k++)
            {
                var main = samples[bin[k]].Main;
                int n = lengths[bin[k]];
                Array.Copy(main.InputIds, 0, input, offset, n);
                Array.Copy(main.Labels, 0, labels, offset, n);
                for (int t = 0; t < n; t++)
                {
                    segments[offset + t] = k + 1;
                    positions[offset + t] = t;
                }
                offset += n;
            }
            rows.Add(new TokenizedSample(new TokenSequence(input, labels, segments, positions)));
        }
        return rows;
    }

    /// <summary>
    /// Greedy bins: lengths sorted; each bin repeatedly takes the longest remaining item that fits. Returns item
    /// indexes per bin. Deterministic: equal lengths are taken from the latest index first.
    /// </summary>
    public static List<List<int>> Bins(IReadOnlyList<int> lengths, int capacity)
    {
        var byLength = new SortedDictionary<int, Stack<int>>();
        for (int i = 0; i < lengths.Count; i++)
        {
            if (lengths[i] <= 0) continue;
            if (!byLength.TryGetValue(lengths[i], out var stack)) byLength[lengths[i]] = stack = new Stack<int>();
            stack.Push(i);
        }
        var sizes = new SortedSet<int>(byLength.Keys);
        var bins = new List<List<int>>();
        while (sizes.Count > 0)
        {
            var bin = new List<int>();
            int remaining = capacity;
            while (sizes.Count > 0 && sizes.Min <= remaining)
            {
                int size = sizes.GetViewBetween(sizes.Min, remaining).Max;
                var stack = byLength[size];
                bin.Add(stack.Pop());
                remaining -= size;
                if (stack.Count == 0)
                {
                    byLength.Remove(size);
                    sizes.Remove(size);
                }
            }
            bins.Add(bin);
        }
        return bins;
    }
}
