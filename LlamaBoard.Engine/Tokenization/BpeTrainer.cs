namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// A small byte-level BPE trainer: starts from the 256 byte symbols and repeatedly merges the most frequent
/// adjacent pair, with ties broken by the smaller (left, right) id pair, so the result is fully deterministic.
/// Meant for the built-in tiny tokenizer (a few KB of text, a few hundred merges), not for real corpora.
/// </summary>
internal static class BpeTrainer
{
    /// <summary>The learned vocabulary (id → token, ids 0-255 the byte symbols) and merges in rank order.</summary>
    public sealed record Result(IReadOnlyList<string> Vocab, IReadOnlyList<(string Left, string Right)> Merges);

    /// <param name="words">pre-tokenized words, already spelled in <see cref="ByteLevelAlphabet"/>.</param>
    /// <param name="maxNewTokens">how many tokens to add beyond the 256 byte symbols at most.</param>
    public static Result Train(IEnumerable<string> words, int maxNewTokens)
    {
        var vocab = new List<string>(256 + maxNewTokens);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            string symbol = ByteLevelAlphabet.CharOf((byte)b).ToString();
            ids[symbol] = vocab.Count;
            vocab.Add(symbol);
        }

        // Distinct words with counts, in ordinal order so nothing depends on hashing.
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (string w in words) counts[w] = counts.GetValueOrDefault(w) + 1;
        var spelled = counts.Select(kv => (Symbols: kv.Key.Select(c => ids[c.ToString()]).ToList(), Count: kv.Value)).ToList();

        var merges = new List<(string, string)>();
        while (vocab.Count < 256 + maxNewTokens)
        {
            var pairCounts = new Dictionary<(int, int), int>();
            foreach (var (symbols, count) in spelled)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairCounts[(symbols[i], symbols[i + 1])] = pairCounts.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;

            (int Left, int Right) best = (-1, -1);
            int bestCount = 1; // a pair seen once teaches nothing
            foreach (var (pair, count) in pairCounts)
            {
                if (count > bestCount || (count == bestCount && best.Left >= 0 && pair.CompareTo(best) < 0))
                {
                    best = pair;
                    bestCount = count;
                }
            }
            if (best.Left < 0) break;

            string merged = vocab[best.Left] + vocab[best.Right];
            if (!ids.TryGetValue(merged, out int newId))
            {
                newId = vocab.Count;
                ids[merged] = newId;
                vocab.Add(merged);
            }
            merges.Add((vocab[best.Left], vocab[best.Right]));
            foreach (var (symbols, _) in spelled) Apply(symbols, best, newId);
        }
        return new Result(vocab, merges);
    }

    static void Apply(List<int> symbols, (int Left, int Right) pair, int newId)
    {
        int write = 0;
        for (int read = 0; read < symbols.Count; read++)
        {
            if (read + 1 < symbols.Count && symbols[read] == pair.Left && symbols[read + 1] == pair.Right)
            {
                symbols[write++] = newId;
                read++;
            }
            else
            {
                symbols[write++] = symbols[read];
            }
        }
        symbols.RemoveRange(write, symbols.Count - write);
    }
}
