namespace LlamaBoard.Engine.Data;

/// <summary>
/// A small, fixed pseudo-random generator (SplitMix64) so that shuffles, splits and sampling give the same
/// result on every machine and .NET version for the same seed.
/// </summary>
public sealed class SeededRandom(long seed)
{
    ulong _state = unchecked((ulong)seed);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>).</summary>
    public int Next(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        // Rejection sampling keeps the draw unbiased.
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)bound;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % (ulong)bound);
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A permutation of 0 … n-1 (Fisher–Yates).</summary>
    public int[] Permutation(int n)
    {
        var result = new int[n];
        for (int i = 0; i < n; i++) result[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (result[i], result[j]) = (result[j], result[i]);
        }
        return result;
    }

    /// <summary>The permutation used for <paramref name="epoch"/> of a run seeded with <paramref name="seed"/>.</summary>
    public static int[] EpochPermutation(int n, int seed, int epoch) =>
        new SeededRandom(((long)seed << 20) ^ epoch).Permutation(n);
}
