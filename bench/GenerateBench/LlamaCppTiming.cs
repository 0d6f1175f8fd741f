using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Bench;

/// <summary>
/// The same measurement as <see cref="GenerationBenchmark.Measure"/>, with llama.cpp: the rows' prompts in one
/// llama_decode (time to first token includes the first arg-max), then one token per row per llama_decode, each row
/// its own sequence. Greedy arg-max on the logits, as the LlamaBoard side does.
/// </summary>
internal static class LlamaCppTiming
{
    public static GenerationTiming Measure(string gguf, string dtypeName, GGMLType cacheType, int batch, int promptTokens, int newTokens,
                                           int repeats, int threads)
    {
        uint context = (uint)(batch * (promptTokens + newTokens) + 16);
        var parameters = new ModelParams(gguf)
        {
            ContextSize = context,
            BatchSize = (uint)(batch * promptTokens),
            UBatchSize = (uint)(batch * promptTokens),
            SeqMax = (uint)batch,
            KVUnified = true,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
            TypeK = cacheType,
            TypeV = cacheType,
            FlashAttention = false,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        var prompts = GenerationBenchmark.Prompts(batch, promptTokens, weights.Vocab.Count);
        Run(weights, parameters, prompts, 2);
        TimeSpan firstToken = TimeSpan.MaxValue;
        double decode = 0;
        for (int i = 0; i < repeats; i++)
        {
            var (first, perSecond) = Run(weights, parameters, prompts, newTokens);
            if (first < firstToken) firstToken = first;
            decode = Math.Max(decode, perSecond);
        }
        return new GenerationTiming(dtypeName, batch, firstToken, decode, promptTokens, newTokens);
    }

    static (TimeSpan FirstToken, double DecodePerSecond) Run(LLamaWeights weights, ModelParams parameters, List<int[]> prompts, int newTokens)
    {
        using var context = weights.CreateContext(parameters);
        int rows = prompts.Count, length = prompts[0].Length;
        var batch = new LLamaBatch();
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < length; i++)
                batch.Add(prompts[r][i], i, (LLamaSeqId)r, logits: i == length - 1);
        var clock = Stopwatch.StartNew();
        Decode(context, batch);
        var next = new int[rows];
        for (int r = 0; r < rows; r++) next[r] = ArgMax(context.NativeHandle.GetLogitsIth(r * length + length - 1));
        var firstToken = clock.Elapsed;
        for (int step = 1; step < newTokens; step++)
        {
            batch.Clear();
            for (int r = 0; r < rows; r++) batch.Add(next[r], length + step - 1, (LLamaSeqId)r, logits: true);
            Decode(context, batch);
            for (int r = 0; r < rows; r++) next[r] = ArgMax(context.NativeHandle.GetLogitsIth(r));
        }
        var decodeTime = clock.Elapsed - firstToken;
        return (firstToken, (newTokens - 1) * (double)rows / decodeTime.TotalSeconds);
    }

    static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}.");
    }

    static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
