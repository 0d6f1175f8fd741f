namespace LlamaBoard.Engine.Data.Processors;

/// <summary>How a prompt and a response share cutoff_len when both do not fit (LLaMA-Factory's infer_seqlen).</summary>
public static class SequenceLengths
{
    /// <summary>
    /// The lengths to keep of a source (prompt) of <paramref name="sourceLength"/> and a target (response) of
    /// <paramref name="targetLength"/> tokens under <paramref name="cutoff"/>: a short response is kept whole and
    /// the prompt cut; a short prompt is kept whole and the response cut; otherwise both are cut in proportion.
    /// </summary>
    public static (int Source, int Target) Infer(int sourceLength, int targetLength, int cutoff)
    {
        int maxTarget;
        if (targetLength * 2 < cutoff) maxTarget = cutoff;
        else if (sourceLength * 2 < cutoff) maxTarget = cutoff - sourceLength;
        else maxTarget = (int)(cutoff * ((double)targetLength / (sourceLength + targetLength)));
        int target = Math.Min(maxTarget, targetLength);
        int source = Math.Min(Math.Max(cutoff - target, 0), sourceLength);
        return (source, target);
    }
}
