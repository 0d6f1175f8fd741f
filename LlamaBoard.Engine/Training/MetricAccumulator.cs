namespace LlamaBoard.Engine.Training;

/// <summary>
/// Averages an objective's metrics (rewards/chosen, rewards/accuracies, …) over the units they were summed over,
/// across micro-batches, steps and logging windows: each metric keeps a sum and a count, so an average over a
/// window weighs every pair (or example) equally however the micro-batches were cut.
/// </summary>
public sealed class MetricAccumulator
{
    readonly Dictionary<string, (double Sum, double Count)> values = new(StringComparer.Ordinal);

    /// <summary>True when nothing was added since the last <see cref="Clear"/>.</summary>
    public bool IsEmpty => values.Count == 0;

    /// <summary>
    /// Adds one micro-batch's metric sums. A metric's count comes from <see cref="ObjectiveOutput.MetricCounts"/>
    /// when the objective gives one (KTO averages chosen rewards over chosen examples only), else it is
    /// <paramref name="weight"/>, the batch's weight in the loss normaliser.
    /// </summary>
    public void Add(ObjectiveOutput output, double weight)
    {
        if (output.MetricSums is null) return;
        foreach (var (key, sum) in output.MetricSums)
        {
            double count = output.MetricCounts is { } counts && counts.TryGetValue(key, out double c) ? c : weight;
            Add(key, sum, count);
        }
    }

    /// <summary>Adds a sum over <paramref name="count"/> units to <paramref name="key"/>.</summary>
    public void Add(string key, double sum, double count)
    {
        var (s, n) = values.GetValueOrDefault(key);
        values[key] = (s + sum, n + count);
    }

    /// <summary>Adds everything another accumulator holds.</summary>
    public void Add(MetricAccumulator other)
    {
        foreach (var (key, (sum, count)) in other.values) Add(key, sum, count);
    }

    /// <summary>
    /// The averages, with <paramref name="prefix"/> before each key (eval_ for evaluation). Metrics whose units never
    /// occurred (no rejected example in the window) are left out. rewards/margins is derived as chosen − rejected when
    /// an objective reports those only separately, as LLaMA-Factory's KTO trainer logs it.
    /// </summary>
    public Dictionary<string, double> Averages(string prefix = "")
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, (sum, count)) in values)
            if (count > 0) result[prefix + key] = sum / count;
        if (!result.ContainsKey(prefix + "rewards/margins")
            && result.TryGetValue(prefix + "rewards/chosen", out double chosen) && result.TryGetValue(prefix + "rewards/rejected", out double rejected))
            result[prefix + "rewards/margins"] = chosen - rejected;
        return result;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear() => values.Clear();

    /// <summary>Sums and counts, for a checkpoint (so a resumed run logs the same averages).</summary>
    public Dictionary<string, double[]> Snapshot() => values.ToDictionary(kv => kv.Key, kv => new[] { kv.Value.Sum, kv.Value.Count }, StringComparer.Ordinal);

    /// <summary>An accumulator holding a <see cref="Snapshot"/>.</summary>
    public static MetricAccumulator FromSnapshot(IReadOnlyDictionary<string, double[]>? snapshot)
    {
        var result = new MetricAccumulator();
        foreach (var (key, pair) in snapshot ?? new Dictionary<string, double[]>())
            if (pair.Length == 2) result.Add(key, pair[0], pair[1]);
        return result;
    }
}
