namespace LlamaBoard.Engine.Data;

/// <summary>
/// Combines several datasets (<c>mix_strategy</c>): <c>concat</c> appends them; <c>interleave_under</c> takes
/// them in turn (or by <c>interleave_probs</c>) until the first runs out; <c>interleave_over</c> keeps going,
/// restarting exhausted ones, until every dataset has been used up at least once; <c>interleave_once</c> uses
/// every example exactly once, drawing from the datasets that still have examples.
/// </summary>
public static class DatasetMixer
{
    /// <summary>The strategy names, for messages.</summary>
    public const string Strategies = "concat, interleave_under, interleave_over, interleave_once";

    /// <summary>Mixes <paramref name="datasets"/> with <paramref name="strategy"/>, seeded for the random picks.</summary>
    /// <exception cref="ArgumentException">Unknown strategy or malformed probabilities.</exception>
    public static List<T> Mix<T>(IReadOnlyList<IReadOnlyList<T>> datasets, string strategy,
                                 IReadOnlyList<double>? probabilities, int seed)
    {
        if (datasets.Count == 0) return [];
        if (strategy is not ("concat" or "interleave_under" or "interleave_over" or "interleave_once"))
            throw new ArgumentException($"mix_strategy '{strategy}' is unknown; use one of {Strategies}", nameof(strategy));
        if (datasets.Count == 1) return [.. datasets[0]];
        if (strategy == "concat") return [.. datasets.SelectMany(d => d)];

        for (int i = 0; i < datasets.Count; i++)
            if (datasets[i].Count == 0)
                throw new ArgumentException($"dataset {i + 1} of the mix is empty; interleaving needs examples in every dataset",
                                            nameof(datasets));
        if (strategy == "interleave_once") return Once(datasets, probabilities, seed);
        bool untilAll = strategy == "interleave_over";
        if (probabilities is null)
        {
            // Whole rounds of one example per dataset: as many rounds as the shortest (under) or longest (over) has.
            int rounds = untilAll ? datasets.Max(d => d.Count) : datasets.Min(d => d.Count);
            var rounded = new List<T>(rounds * datasets.Count);
            for (int round = 0; round < rounds; round++)
                foreach (var d in datasets) rounded.Add(d[round % d.Count]);
            return rounded;
        }
        double[] cumulative = Cumulative(probabilities, datasets.Count);
        var random = new SeededRandom(seed);
        var next = new int[datasets.Count];
        var exhausted = new bool[datasets.Count];
        var result = new List<T>();
        while (true)
        {
            if (untilAll ? exhausted.All(e => e) : exhausted.Any(e => e)) break;
            int source = Pick(cumulative, random.NextDouble());
            result.Add(datasets[source][next[source]]);
            if (++next[source] >= datasets[source].Count)
            {
                exhausted[source] = true;
                next[source] = 0;
            }
        }
        return result;
    }

    /// <summary>Each example once: draw a dataset among those with examples left (by weight, or in turn).</summary>
    static List<T> Once<T>(IReadOnlyList<IReadOnlyList<T>> datasets, IReadOnlyList<double>? probabilities, int seed)
    {
        if (probabilities is not null) _ = Cumulative(probabilities, datasets.Count); // validates them
        var raw = probabilities?.ToArray();
        var next = new int[datasets.Count];
        var random = new SeededRandom(seed);
        var result = new List<T>(datasets.Sum(d => d.Count));
        int turn = 0;
        while (result.Count < result.Capacity)
        {
            int source;
            if (raw is null)
            {
                do source = turn++ % datasets.Count; while (next[source] >= datasets[source].Count);
            }
            else
            {
                double total = 0;
                for (int i = 0; i < raw.Length; i++) if (next[i] < datasets[i].Count) total += raw[i];
                if (total <= 0) // only zero-weight datasets are left: finish them in order
                    source = Enumerable.Range(0, datasets.Count).First(i => next[i] < datasets[i].Count);
                else
                {
                    double u = random.NextDouble() * total;
                    source = -1;
                    for (int i = 0; i < raw.Length; i++)
                    {
                        if (next[i] >= datasets[i].Count) continue;
                        source = i;
                        if ((u -= raw[i]) < 0) break;
                    }
                }
            }
            result.Add(datasets[source][next[source]++]);
        }
        return result;
    }

    static double[] Cumulative(IReadOnlyList<double> probabilities, int count)
    {
        if (probabilities.Count != count)
            throw new ArgumentException($"interleave_probs has {probabilities.Count} values for {count} datasets",
                                        nameof(probabilities));
        if (probabilities.Any(p => p < 0 || double.IsNaN(p)))
            throw new ArgumentException("interleave_probs must not be negative", nameof(probabilities));
        double sum = probabilities.Sum();
        if (Math.Abs(sum - 1) > 1e-6)
            throw new ArgumentException($"interleave_probs must add up to 1 (they add up to {sum:0.######})",
                                        nameof(probabilities));
        var cumulative = new double[count];
        double running = 0;
        for (int i = 0; i < count; i++) cumulative[i] = running += probabilities[i] / sum;
        return cumulative;
    }

    static int Pick(double[] cumulative, double u)
    {
        for (int i = 0; i < cumulative.Length; i++)
            if (u < cumulative[i]) return i;
        return cumulative.Length - 1;
    }
}
