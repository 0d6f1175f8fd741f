using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>How one layer masks attention in one forward call.</summary>
/// <param name="Allowed">Bool (B or 1, 1, T, S), true = may attend; null when no explicit mask is needed.</param>
/// <param name="IsCausal">With no explicit mask: true = plain causal (T == S, no cache), false = attend to all keys.</param>
/// <param name="FirstSlot">Slot of the first key the layer sees (0 without a cache).</param>
/// <param name="KeyCount">Number of keys S the layer sees.</param>
public readonly record struct LayerAttentionMask(Tensor? Allowed, bool IsCausal, int FirstSlot, int KeyCount);

/// <summary>
/// The per-call inputs every decoder layer shares: positions, rotary tables, attention masks and the KV cache.
/// Built completely before the first layer runs, in the caller's dispose scope, so a layer can be re-run later
/// with the same context (activation checkpointing recomputes layers during the backward pass).
/// </summary>
/// <remarks>
/// Masking, for a query in slot q and a key in slot k (slots count every token fed, padding included):
/// <code>
///   attend(q, k) = k ≤ q                          causal
///              and q − k &lt; window                 sliding-window layers only
///              and seg(k) = seg(q) ≠ 0            when an attention mask gives sample ids (0 = padding)
///   padding queries attend to themselves only, so no softmax row is empty.
///
///   packed row, seg = 1 1 1 2 2 0:       k→  1 1 1 2 2 0
///                                 q  1      x . . . . .
///                                    1      x x . . . .
///                                    1      x x x . . .
///                                    2      . . . x . .
///                                    2      . . . x x .
///                                    0      . . . . . x
/// </code>
/// </remarks>
public sealed class DecoderContext
{
    readonly Dictionary<RopeSettings, (Tensor Cos, Tensor Sin)> rotary = new(ReferenceEqualityComparer.Instance);
    readonly LayerAttentionMask[] masks;

    internal DecoderContext(ModelConfig config, Tensor positions, Tensor? segments, int past, KvCache? cache,
                            ScalarType dtype, bool explicitMasks)
    {
        Config = config;
        Batch = positions.shape[0];
        Length = (int)positions.shape[1];
        Past = past;
        Positions = positions;
        Segments = segments;
        Cache = cache;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            var rope = config.RopeOf(layer);
            if (!rotary.ContainsKey(rope)) rotary[rope] = Rotary.Tables(rope, positions, dtype);
        }

        // Layers with the same window and key range share one mask tensor.
        var shared = new Dictionary<(int?, int, int), LayerAttentionMask>();
        masks = new LayerAttentionMask[config.NumLayers];
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            int? window = config.WindowOf(layer);
            var (first, count) = cache?.Reserve(layer, Length, window) ?? (0, Length);
            if (!shared.TryGetValue((window, first, count), out var mask))
            {
                mask = Build(window, first, count, positions.device, explicitMasks);
                shared[(window, first, count)] = mask;
            }
            masks[layer] = mask;
        }
    }

    /// <summary>The model's configuration.</summary>
    public ModelConfig Config { get; }
    /// <summary>Rows B.</summary>
    public long Batch { get; }
    /// <summary>New tokens per row T.</summary>
    public int Length { get; }
    /// <summary>Tokens fed before this call (0 without a cache).</summary>
    public int Past { get; }
    /// <summary>Position ids of the new tokens, (B, T) int64.</summary>
    public Tensor Positions { get; }
    /// <summary>Sample id of every slot so far, (B, Past + T) int64 (0 = padding); null = all one sample.</summary>
    public Tensor? Segments { get; }
    /// <summary>The KV cache, or null.</summary>
    public KvCache? Cache { get; }

    /// <summary>cos and sin (B, 1, T, R) for layers using <paramref name="rope"/>.</summary>
    public (Tensor Cos, Tensor Sin) RotaryFor(RopeSettings rope) => rotary[rope];

    /// <summary>The attention mask of layer <paramref name="layer"/>.</summary>
    public LayerAttentionMask MaskOf(int layer) => masks[layer];

    LayerAttentionMask Build(int? window, int firstSlot, int keyCount, Device device, bool explicitRequired)
    {
        int lastQuery = Past + Length - 1;
        if (Segments is null && !explicitRequired)
        {
            bool windowCoversAll = window is null || firstSlot > lastQuery - window.Value;
            // Fresh sequence: scaled_dot_product_attention's built-in causal mask is exactly right.
            if (Past == 0 && firstSlot == 0 && keyCount == Length && (window is null || window.Value >= Length))
                return new(null, true, firstSlot, keyCount);
            // One new token that may see every held key: no mask at all.
            if (Length == 1 && windowCoversAll)
                return new(null, false, firstSlot, keyCount);
        }
        using var scope = NewDisposeScope();
        var querySlots = arange(Past, Past + Length, dtype: ScalarType.Int64, device: device).unsqueeze(1);        // (T, 1)
        var keySlots = arange(firstSlot, firstSlot + keyCount, dtype: ScalarType.Int64, device: device).unsqueeze(0); // (1, S)
        var allowed = keySlots.le(querySlots);                                                                   // (T, S)
        if (window is { } w) allowed = allowed.logical_and(querySlots.sub(keySlots).lt(w));
        if (Segments is not null)
        {
            var queryIds = Segments.narrow(1, Past, Length).unsqueeze(2);           // (B, T, 1)
            var keyIds = Segments.narrow(1, firstSlot, keyCount).unsqueeze(1);      // (B, 1, S)
            var sameSample = keyIds.eq(queryIds).logical_and(queryIds.ne(0));     // (B, T, S)
            var padSelf = queryIds.eq(0).logical_and(keySlots.eq(querySlots));    // (B, T, S)
            allowed = allowed.logical_and(sameSample).logical_or(padSelf);
        }
        else
        {
            allowed = allowed.unsqueeze(0);                                         // (1, T, S)
        }
        return new(allowed.unsqueeze(1).MoveToOuterDisposeScope(), false, firstSlot, keyCount); // (B|1, 1, T, S)
    }

    /// <summary>
    /// Position ids that restart at 0 for every sample: the number of earlier slots of the same row holding the
    /// same sample id. Padding slots get 0. <paramref name="segments"/> (B, S) int64 → (B, S) int64.
    /// </summary>
    public static Tensor SegmentPositions(Tensor segments)
    {
        using var scope = NewDisposeScope();
        long length = segments.shape[1];
        // A stable sort groups each sample's slots together, in order; a slot's rank inside its group is its position.
        var (sorted, order) = segments.sort(dim: 1, stable: true);                                   // (B, S) each
        var index = arange(length, dtype: ScalarType.Int64, device: segments.device).expand_as(sorted); // (B, S)
        var starts = sorted.ne(sorted.roll(1, 1));
        starts.narrow(1, 0, 1).fill_(true);
        var groupStart = where(starts, index, zeros_like(index)).cummax(1).values;                   // (B, S)
        var rank = index - groupStart;
        var positions = zeros_like(segments).scatter_(1, order, rank);
        positions.masked_fill_(segments.eq(0), 0);
        return positions.MoveToOuterDisposeScope();
    }
}
