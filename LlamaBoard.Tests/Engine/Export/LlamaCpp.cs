using System.Collections.Concurrent;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// llama.cpp (through LLamaSharp 0.30 and its CPU backend) as an independent reference for the GGUF exports:
/// loads a .gguf file, evaluates token ids in one batch with logits for every position, decodes greedily, and
/// tokenizes. The K/V cache is kept in fp32 and flash attention off, so that an F32 export is compared with
/// fp32 arithmetic throughout (llama.cpp's defaults store K/V in fp16).
/// </summary>
internal sealed class LlamaCpp : IDisposable
{
    static readonly ConcurrentQueue<string> Log = new();
    static readonly Lazy<bool> Configured = new(() =>
    {
        // Keep llama.cpp's chatter out of the test output, but remember it for failure messages.
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level >= LLamaLogLevel.Warning || Environment.GetEnvironmentVariable("LLAMA_LOG_ALL") == "1") Log.Enqueue(message.TrimEnd());
            while (Log.Count > 200) Log.TryDequeue(out _);
        });
        return true;
    });

    readonly LLamaWeights weights;
    readonly ModelParams parameters;

    LlamaCpp(LLamaWeights weights, ModelParams parameters)
    {
        this.weights = weights;
        this.parameters = parameters;
    }

    /// <summary>Loads <paramref name="gguf"/> for contexts of <paramref name="contextSize"/> tokens.</summary>
    public static LlamaCpp Load(string gguf, uint contextSize = 128)
    {
        _ = Configured.Value;
        var parameters = new ModelParams(gguf)
        {
            ContextSize = contextSize,
            BatchSize = contextSize,
            UBatchSize = contextSize,
            GpuLayerCount = 0,
            Threads = 2,
            BatchThreads = 2,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        try
        {
            return new LlamaCpp(LLamaWeights.LoadFromFile(parameters), parameters);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"llama.cpp could not load {gguf}: {e.Message}\n{RecentLog()}", e);
        }
    }

    /// <summary>The last warnings and errors llama.cpp logged.</summary>
    public static string RecentLog() => string.Join("\n", Log.TakeLast(Environment.GetEnvironmentVariable("LLAMA_LOG_ALL") == "1" ? 200 : 20));

    /// <summary>Number of tokens in the GGUF vocabulary.</summary>
    public int VocabCount => weights.Vocab.Count;

    /// <summary>The GGUF metadata as llama.cpp read it.</summary>
    public IReadOnlyDictionary<string, string> Metadata => weights.Metadata;

    /// <summary>Logits (T, vocab) for <paramref name="ids"/> evaluated in one batch from position 0.</summary>
    public float[][] Logits(IReadOnlyList<int> ids)
    {
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Count; i++) batch.Add(ids[i], i, LLamaSeqId.Zero, logits: true);
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}\n{RecentLog()}");
        var logits = new float[ids.Count][];
        for (int i = 0; i < ids.Count; i++) logits[i] = context.NativeHandle.GetLogitsIth(i).ToArray();
        return logits;
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/>: the prompt in one batch, then one token per step.</summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int count)
    {
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        var generated = new List<int>();
        int position = prompt.Count;
        for (int step = 0; step < count; step++)
        {
            var result = context.NativeHandle.Decode(batch);
            if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}\n{RecentLog()}");
            int next = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            generated.Add(next);
            batch.Clear();
            batch.Add(next, position++, LLamaSeqId.Zero, logits: true);
        }
        return generated;
    }

    /// <summary>llama.cpp's tokenization of <paramref name="text"/> (special tokens parsed, as transformers does).</summary>
    public int[] Tokenize(string text, bool addBos) =>
        weights.Tokenize(text, addBos, special: true, Encoding.UTF8).Select(t => (int)t).ToArray();

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    public void Dispose() => weights.Dispose();
}
