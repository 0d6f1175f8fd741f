namespace LlamaBoard.Engine.Configuration;

/// <summary>"Did you mean …?": the closest spelling by edit distance, for unknown keys and enum values.</summary>
public static class KeySuggestions
{
    /// <summary>
    /// The candidate closest to <paramref name="text"/> (case-insensitive optimal-string-alignment distance,
    /// where swapping two neighbours costs one edit), or null when none is close enough to be a plausible typo.
    /// </summary>
    public static string? Closest(string text, IEnumerable<string> candidates)
    {
        string needle = text.Trim().ToLowerInvariant();
        if (needle.Length == 0) return null;
        // Allow about one edit per four characters, at least one and at most three.
        int limit = Math.Clamp(needle.Length / 4 + 1, 1, 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            // The distance is at least the difference in length: skip hopeless candidates before building the
            // (length × length) table, which for a pasted megabyte of text would take hundreds of megabytes.
            if (Math.Abs(needle.Length - candidate.Length) > limit) continue;
            int distance = Distance(needle, candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= limit ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
