namespace LlamaBoard.Engine.Data;

/// <summary>Splits off an evaluation set (<c>val_size</c>) with a seeded shuffle, as datasets' train_test_split does.</summary>
public static class DatasetSplitter
{
    /// <summary>The number of evaluation examples <paramref name="valSize"/> asks for out of <paramref name="count"/>.</summary>
    /// <exception cref="ArgumentException">The value is negative, a non-whole count, or leaves no training data.</exception>
    public static int EvalCount(double valSize, int count)
    {
        if (valSize < 0 || double.IsNaN(valSize))
            throw new ArgumentException($"val_size must be 0, a fraction below 1, or a whole count (got {valSize})", nameof(valSize));
        if (valSize == 0) return 0;
        int eval;
        if (valSize < 1)
            eval = (int)Math.Ceiling(valSize * count);
        else
        {
            if (valSize != Math.Floor(valSize))
                throw new ArgumentException($"val_size {valSize} is above 1 but not a whole count", nameof(valSize));
            eval = (int)valSize;
        }
        if (eval >= count)
            throw new ArgumentException($"val_size {valSize} takes {eval} of {count} examples and leaves none for training",
                                        nameof(valSize));
        return eval;
    }

    /// <summary>Shuffles with <paramref name="seed"/> and returns (train, eval).</summary>
    public static (List<T> Train, List<T> Eval) Split<T>(IReadOnlyList<T> items, double valSize, int seed)
    {
        int eval = EvalCount(valSize, items.Count);
        if (eval == 0) return ([.. items], []);
        var order = new SeededRandom(seed).Permutation(items.Count);
        return ([.. order.Skip(eval).Select(i => items[i])], [.. order.Take(eval).Select(i => items[i])]);
    }
}
