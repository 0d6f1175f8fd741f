using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Keys and values of earlier tokens, per layer, for incremental decoding: pass the same cache to successive
/// <see cref="DecoderModel.ForwardHidden"/> calls and feed only the new tokens each time. Every token occupies
/// one "slot" (its index in the stream of tokens fed so far, padding included). Full-attention layers keep all
/// slots; sliding-window layers keep only the last window − 1 before each step, so their memory stays bounded.
/// Buffers grow by doubling, so appending a token costs amortised O(1) copies. Inference only: stored values
/// are detached from autograd. The cache owns its tensors (outside any dispose scope); dispose it when done.
/// </summary>
public sealed class KvCache : IDisposable
{
    sealed class LayerSlots
    {
        public Tensor? Keys;    // (B, kv_heads, capacity, head_dim)
        public Tensor? Values;  // (B, kv_heads, capacity, head_dim)
        public int Count;       // slots held, the last ones fed
        public long Capacity => Keys?.shape[2] ?? 0;
    }

    readonly LayerSlots[] layers;
    Tensor? segments;

    /// <summary>Creates an empty cache for a model with <paramref name="numLayers"/> layers.</summary>
    public KvCache(int numLayers)
    {
        layers = new LayerSlots[numLayers];
        for (int i = 0; i < numLayers; i++) layers[i] = new LayerSlots();
    }

    /// <summary>Tokens fed so far (the next token's slot).</summary>
    public int Length { get; private set; }

    /// <summary>Rows in the batch, fixed by the first call (0 before it).</summary>
    public long Batch { get; private set; }

    /// <summary>Number of layers.</summary>
    public int NumLayers => layers.Length;

    /// <summary>Sample id of every slot so far (B, Length) int64; null while no attention mask was ever given.</summary>
    internal Tensor? Segments => segments;

    /// <summary>Slots that layer <paramref name="layer"/> currently holds (for tests and memory reports).</summary>
    public int HeldSlots(int layer) => layers[layer].Count;

    /// <summary>
    /// Before a step of <paramref name="newTokens"/> tokens: makes room in layer <paramref name="layer"/> (dropping
    /// slots a sliding window can no longer see) and returns the slots its keys will cover after the write.
    /// </summary>
    internal (int FirstSlot, int Count) Reserve(int layer, int newTokens, int? window)
    {
        var slots = layers[layer];
        if (window is { } w && slots.Keys is not null && slots.Count > w - 1 && slots.Count + newTokens > slots.Capacity)
        {
            // The next query is slot Length; it sees slots ≥ Length − (w − 1). Keep those, at the buffer's front.
            int keep = Math.Max(0, w - 1);
            using var _ = no_grad();
            foreach (var buffer in new[] { slots.Keys, slots.Values! })
            {
                using var tail = buffer.narrow(2, slots.Count - keep, keep).clone();
                using var front = buffer.narrow(2, 0, keep);
                front.copy_(tail);
            }
            slots.Count = keep;
        }
        return (Length - slots.Count, slots.Count + newTokens);
    }

    /// <summary>
    /// Appends this step's keys and values, (B, kv_heads, T, head_dim), to layer <paramref name="layer"/> and
    /// returns views of all held slots, (B, kv_heads, Count, head_dim). Call after <see cref="Reserve"/>.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, Tensor keys, Tensor values)
    {
        var slots = layers[layer];
        long batch = keys.shape[0];
        int t = (int)keys.shape[2];
        if (Batch != 0 && batch != Batch)
            throw new ArgumentException($"The KV cache holds {Batch} rows, but this step has {batch}; use a new cache for a new batch.");
        using (no_grad())
        {
            if (slots.Keys is null || slots.Count + t > slots.Capacity)
                Grow(slots, keys, slots.Count + t);
            using (var kTarget = slots.Keys!.narrow(2, slots.Count, t)) kTarget.copy_(keys.detach());
            using (var vTarget = slots.Values!.narrow(2, slots.Count, t)) vTarget.copy_(values.detach());
        }
        slots.Count += t;
        return (slots.Keys!.narrow(2, 0, slots.Count), slots.Values!.narrow(2, 0, slots.Count));
    }

    static void Grow(LayerSlots slots, Tensor like, long needed)
    {
        long capacity = Math.Max(Math.Max(needed, 2 * slots.Capacity), 64);
        long[] shape = [like.shape[0], like.shape[1], capacity, like.shape[3]];
        var keys = empty(shape, dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        var values = empty(shape, dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        if (slots.Keys is not null)
        {
            using (var target = keys.narrow(2, 0, slots.Count))
            using (var source = slots.Keys.narrow(2, 0, slots.Count))
                target.copy_(source);
            using (var target = values.narrow(2, 0, slots.Count))
            using (var source = slots.Values!.narrow(2, 0, slots.Count))
                target.copy_(source);
            slots.Keys.Dispose();
            slots.Values!.Dispose();
        }
        slots.Keys = keys;
        slots.Values = values;
    }

    /// <summary>After a step: advances <see cref="Length"/> and records the sample ids of all slots.</summary>
    internal void Commit(int newTokens, long batch, Tensor? allSegments)
    {
        Length += newTokens;
        Batch = batch;
        if (allSegments is not null && !ReferenceEquals(allSegments, segments))
        {
            var kept = allSegments.detach().clone().DetachFromDisposeScope();
            segments?.Dispose();
            segments = kept;
        }
    }

    /// <summary>Releases the cached tensors.</summary>
    public void Dispose()
    {
        foreach (var slots in layers)
        {
            slots.Keys?.Dispose();
            slots.Values?.Dispose();
            slots.Keys = slots.Values = null;
            slots.Count = 0;
        }
        segments?.Dispose();
        segments = null;
        Length = 0;
        Batch = 0;
    }
}
