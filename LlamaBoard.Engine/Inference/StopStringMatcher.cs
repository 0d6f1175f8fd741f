namespace LlamaBoard.Engine.Inference;

/// <summary>
/// Cuts streamed text at the first stop string (the OpenAI API's <c>stop</c>). Text that could still turn into
/// a stop string is held back until the next delta decides it, so no part of a stop string is ever released and
/// the released text always equals the final text's prefix.
/// </summary>
public sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    readonly string[] stops = [.. stops.Where(s => s.Length > 0)];
    string held = "";

    /// <summary>True once a stop string was seen; later input is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds <paramref name="delta"/>; returns the text that is now certainly before any stop string.</summary>
    public string Push(string delta)
    {
        if (Stopped) return "";
        if (stops.Length == 0) return delta;
        string text = held + delta;
        int cut = -1;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            held = "";
            return text[..cut];
        }
        // Keep the longest tail that is a proper prefix of some stop string.
        int keep = 0;
        foreach (string stop in stops)
            for (int length = Math.Min(stop.Length - 1, text.Length); length > keep; length--)
                if (string.CompareOrdinal(text, text.Length - length, stop, 0, length) == 0) { keep = length; break; }
        held = text[^keep..];
        return text[..^keep];
    }

    /// <summary>Ends the stream: the held-back tail, which did not become a stop string.</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : held;
        held = "";
        return rest;
    }
}
