using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>Which side padding goes on: right for training, left for generation (so prompts end together).</summary>
public enum PaddingSide
{
    /// <summary>Tokens first, then padding.</summary>
    Right,
    /// <summary>Padding first, then tokens.</summary>
    Left,
}

/// <summary>
/// Padded tensors of one batch, all (B, T) int64: token ids, the attention mask (0 = padding, k &gt; 0 = the
/// packed sample a token belongs to; unpacked rows are all 1), labels (-100 where not learned, and on padding)
/// and position ids (restarting per packed sample).
/// </summary>
public sealed class TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor labels, Tensor positionIds) : IDisposable
{
    /// <summary>(B, T) token ids.</summary>
    public Tensor InputIds { get; } = inputIds;
    /// <summary>(B, T) 0 for padding, else the packed-sample id (1 when unpacked).</summary>
    public Tensor AttentionMask { get; } = attentionMask;
    /// <summary>(B, T) labels, or (B, L) reference responses for prompt-only data.</summary>
    public Tensor Labels { get; } = labels;
    /// <summary>(B, T) position ids.</summary>
    public Tensor PositionIds { get; } = positionIds;

    /// <summary>Batch size B.</summary>
    public long Rows => InputIds.shape[0];
    /// <summary>Padded length T.</summary>
    public long Length => InputIds.shape[1];

    /// <inheritdoc/>
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Labels.Dispose();
        PositionIds.Dispose();
    }
}

/// <summary>
/// A collated batch of any stage. Pairwise batches hold 2B rows in <see cref="Main"/>: the B chosen sequences,
/// then the B rejected ones. KTO batches add the KL sequences and the (B) bool desirability tags.
/// </summary>
public sealed class CollatedBatch(TokenBatch main, TokenBatch? kl = null, Tensor? ktoTags = null) : IDisposable
{
    /// <summary>The sequences (chosen then rejected for pairwise data).</summary>
    public TokenBatch Main { get; } = main;
    /// <summary>KTO: the mismatched KL sequences.</summary>
    public TokenBatch? Kl { get; } = kl;
    /// <summary>KTO: (B) bool, true for desirable responses.</summary>
    public Tensor? KtoTags { get; } = ktoTags;

    /// <inheritdoc/>
    public void Dispose()
    {
        Main.Dispose();
        Kl?.Dispose();
        KtoTags?.Dispose();
    }
}

/// <summary>
/// Pads samples into tensors: dynamic padding to the longest sequence of the batch, rounded up to a multiple of
/// <see cref="PadToMultipleOf"/> (8 by default, for tensor-core friendly shapes), on the right for training and
/// on the left for generation. Create batches inside the training step's dispose scope (or dispose them).
/// </summary>
public sealed class DataCollator(int padTokenId, PaddingSide side = PaddingSide.Right, int padToMultipleOf = 8)
{
    /// <summary>The id written into padded input positions.</summary>
    public int PadTokenId { get; } = padTokenId;
    /// <summary>Padding side.</summary>
    public PaddingSide Side { get; } = side;
    /// <summary>Padded lengths are rounded up to a multiple of this.</summary>
    public int PadToMultipleOf { get; } = padToMultipleOf;

    /// <summary>Collates samples of <paramref name="stage"/> onto <paramref name="device"/> (CPU when null).</summary>
    public CollatedBatch Collate(IReadOnlyList<TokenizedSample> samples, DataStage stage, Device? device = null)
    {
        if (samples.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(samples));
        Runtime.TorchRuntime.EnsureInitialized();
        switch (stage)
        {
            case DataStage.Pairwise:
                return new CollatedBatch(Pad([.. samples.Select(s => s.Main), .. samples.Select(s => s.Rejected!)], true, device));
            case DataStage.Feedback:
                var tags = tensor(samples.Select(s => s.KtoTag ?? false).ToArray(), device: device); // (B)
                return new CollatedBatch(Pad([.. samples.Select(s => s.Main)], true, device),
                                         Pad([.. samples.Select(s => s.Kl!)], true, device), tags);
            case DataStage.Unsupervised:
                return new CollatedBatch(Pad([.. samples.Select(s => s.Main)], false, device));
            default:
                return new CollatedBatch(Pad([.. samples.Select(s => s.Main)], true, device));
        }
    }

    /// <summary>Pads sequences; <paramref name="alignedLabels"/> false pads labels to their own length.</summary>
    public TokenBatch Pad(IReadOnlyList<TokenSequence> sequences, bool alignedLabels = true, Device? device = null)
    {
        if (sequences.Count == 0) throw new ArgumentException("cannot pad an empty batch", nameof(sequences));
        Runtime.TorchRuntime.EnsureInitialized();
        int rows = sequences.Count;
        int length = RoundUp(sequences.Max(s => s.Length));
        int labelLength = alignedLabels ? length : RoundUp(Math.Max(1, sequences.Max(s => s.Labels.Length)));
        var input = new long[rows * length];
        var mask = new long[rows * length];
        var labels = new long[rows * labelLength];
        var positions = new long[rows * length];
        Array.Fill(input, PadTokenId);
        Array.Fill(labels, TokenSequence.IgnoreIndex);
        for (int r = 0; r < rows; r++)
        {
            var s = sequences[r];
            int start = r * length + (Side == PaddingSide.Left ? length - s.Length : 0);
            for (int t = 0; t < s.Length; t++)
            {
                input[start + t] = s.InputIds[t];
                mask[start + t] = s.SegmentIds?[t] ?? 1;
                positions[start + t] = s.PositionIds?[t] ?? t;
            }
            if (alignedLabels)
                for (int t = 0; t < s.Length; t++) labels[start + t] = s.Labels[t];
            else
            {
                int labelStart = r * labelLength + (Side == PaddingSide.Left ? labelLength - s.Labels.Length : 0);
                for (int t = 0; t < s.Labels.Length; t++) labels[labelStart + t] = s.Labels[t];
            }
        }
        return new TokenBatch(
            tensor(input, [rows, length], int64, device),       // (B, T)
            tensor(mask, [rows, length], int64, device),        // (B, T)
            tensor(labels, [rows, labelLength], int64, device), // (B, T) or (B, L)
            tensor(positions, [rows, length], int64, device));  // (B, T)
    }

    int RoundUp(int length) => PadToMultipleOf <= 1 ? length : (length + PadToMultipleOf - 1) / PadToMultipleOf * PadToMultipleOf;
}
