using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Loss;

/// <summary>How a chunked LM-head function splits its work: rows per chunk, and Gemma 2's final-logit soft-cap.</summary>
/// <param name="Chunk">Target rows per chunk (chunk × vocab stays under the block budget).</param>
/// <param name="Softcap">Final-logit soft-capping, or null.</param>
internal sealed record LogitChunkSettings(long Chunk, double? Softcap);

/// <summary>What the chunked loss and the chunked log-probs share: the input check and one chunk's logits.</summary>
internal static class LogitChunks
{
    /// <summary>The settings for <paramref name="weight"/>: as many rows per chunk as keep chunk × vocab under <paramref name="blockElements"/>.</summary>
    public static LogitChunkSettings For(Tensor weight, long blockElements, double? softcap) =>
        new(Math.Max(1, blockElements / weight.shape[0]), softcap);

    /// <summary>Throws unless hidden (M, H), weight (V, H) and labels (M) fit together.</summary>
    public static void CheckShapes(Tensor hidden, Tensor weight, Tensor labels)
    {
        if (hidden.ndim != 2 || weight.ndim != 2 || labels.ndim != 1 || hidden.shape[0] != labels.shape[0] || hidden.shape[1] != weight.shape[1])
            throw new ArgumentException($"shapes do not fit: hidden {Shape(hidden)}, weight {Shape(weight)}, labels {Shape(labels)}.");
    }

    /// <summary>fp32 logits of one chunk, soft-capped when asked; also tanh(z/cap), which the backward needs.</summary>
    public static (Tensor Capped, Tensor? Tanh) Logits(Tensor hiddenChunk, Tensor weight, double? softcap)
    {
        var logits = hiddenChunk.matmul(weight.t()).to_type(ScalarType.Float32); // (c, V)
        if (softcap is not { } cap) return (logits, null);
        var tanh = (logits / cap).tanh_();
        return (tanh * cap, tanh);
    }

    static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
