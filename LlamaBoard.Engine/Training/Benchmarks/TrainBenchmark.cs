using System.Diagnostics;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Benchmarks;

/// <summary>The model and step a training benchmark measures (defaults: the Llama-shaped 8 × 512 model).</summary>
public sealed record TrainBenchSettings
{
    public string Method { get; init; } = "lora";
    public int Layers { get; init; } = 8;
    public int Hidden { get; init; } = 512;
    public int Heads { get; init; } = 8;
    public int KvHeads { get; init; } = 8;
    public int Intermediate { get; init; } = 1376;
    public int Vocab { get; init; } = 32000;
    public int Seq { get; init; } = 512;
    public int Batch { get; init; } = 4;
    public int Steps { get; init; } = 10;
    public int Warmup { get; init; } = 2;
    public int Rank { get; init; } = 8;
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);
    public ScalarType DType { get; init; } = ScalarType.Float32;
    public bool Checkpointing { get; init; } = true;
}

/// <summary>What one configuration measured.</summary>
/// <param name="Engine">Who ran it ("LlamaBoard …" or "PyTorch … eager").</param>
/// <param name="StepSeconds">Median optimizer step time.</param>
/// <param name="TokensPerSecond">Tokens per second at the median step.</param>
/// <param name="PeakResidentBytes">Peak resident memory of the process.</param>
/// <param name="Parameters">All parameters.</param>
/// <param name="Trainable">Trainable parameters.</param>
/// <param name="StepTimes">Every measured step, in order (for flatness checks).</param>
/// <param name="ResidentAfterSteps">Resident memory after each measured step.</param>
/// <param name="OptimizerSeconds">Median time of the optimizer part of a step (clipping, AdamW, zeroing).</param>
/// <param name="LiveTensorsAfterSteps">TorchSharp tensors alive after each measured step (a leak grows it; heap growth does not).</param>
public sealed record TrainBenchResult(string Engine, double StepSeconds, double TokensPerSecond, long PeakResidentBytes,
                                      long Parameters, long Trainable, IReadOnlyList<double> StepTimes, IReadOnlyList<long> ResidentAfterSteps,
                                      double OptimizerSeconds, IReadOnlyList<long>? LiveTensorsAfterSteps = null);

/// <summary>
/// Times training steps of a random Llama-shaped model on random tokens: forward (chunked LM loss), backward,
/// clipping and AdamW, exactly the trainer's step, with LoRA on every decoder linear layer or full tuning.
/// </summary>
public static class TrainBenchmark
{
    /// <summary>Runs the benchmark in this process.</summary>
    public static TrainBenchResult Run(TrainBenchSettings s)
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Threads = s.Threads;
        Quantization.NativeHeap.ReturnLargeBlocks();   // as TrainableModel.Load does for real runs
        manual_seed(0);
        var config = ModelConfigFactory.NewConfig("llama", new ModelShape(s.Hidden, s.Layers, s.Heads, s.KvHeads, s.Intermediate, s.Vocab),
                                                  new System.Text.Json.Nodes.JsonObject { ["max_position_embeddings"] = Math.Max(2048, s.Seq) });
        using var model = DecoderModel.Create(config, s.DType, CPU);
        ModelInitializer.Initialize(model, 0);
        foreach (var (_, p) in model.NamedParameters()) p.requires_grad = s.Method == "full";
        if (s.Method == "lora")
        {
            LoraAdapter.Attach(model, new LoraSettings(s.Rank, 2 * s.Rank), AdapterTargets.Resolve(model, ["all"]));
            foreach (var (_, layer) in LoraAdapter.Layers(model))
                foreach (var p in layer.AdapterParameters()) p.requires_grad = true;
        }
        if (s.Checkpointing)
        {
            var perLayer = model.Layers.ToDictionary(l => l, l => (IReadOnlyList<Tensor>)l.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList());
            model.LayerRunner = (layer, hidden, context) => ActivationCheckpoint.Run(h => layer.call(h, context), hidden, perLayer[layer]);
        }
        model.train();
        var trainable = model.NamedParameters().Where(p => p.Parameter.requires_grad)
                             .Select(p => new TrainableParameter(p.Name, p.Parameter, WeightDecay: false)).ToList();
        using var optimizer = new TrainingOptimizer(trainable, new OptimizerSettings(LearningRate: 1e-4));

        var ids = randint(0, s.Vocab, [s.Batch, s.Seq], dtype: ScalarType.Int64);
        var tokens = new TokenBatch(ids, ones_like(ids), ids.clone(), arange(s.Seq, dtype: ScalarType.Int64).expand(s.Batch, s.Seq).contiguous());
        var times = new List<double>();
        var optimizerTimes = new List<double>();
        var resident = new List<long>();
        var live = new List<long>();
        for (int step = 0; step < s.Warmup + s.Steps; step++)
        {
            var clock = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                var loss = CausalLmObjective.LossSum(model, tokens) / (s.Batch * (s.Seq - 1));
                loss.backward();
            }
            var backwardDone = clock.Elapsed;
            optimizer.Step(1.0, 1.0);
            optimizer.ZeroGrad();
            if (step < s.Warmup) continue;
            times.Add(clock.Elapsed.TotalSeconds);
            optimizerTimes.Add((clock.Elapsed - backwardDone).TotalSeconds);
            resident.Add(ProcessMemory.Read().ResidentBytes);
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        tokens.Dispose();
        double median = times.Order().ElementAt(times.Count / 2);
        return new TrainBenchResult($"LlamaBoard (TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchRuntime.LibTorchVersion})",
                                    median, s.Batch * s.Seq / median, ProcessMemory.Read().PeakResidentBytes,
                                    model.ParameterCount, trainable.Sum(t => t.Parameter.numel()), times, resident,
                                    optimizerTimes.Order().ElementAt(optimizerTimes.Count / 2), live);
    }

    /// <summary>
    /// Model FLOPs per token: 6·N for full tuning (forward 2N, backward 4N); 4·N for LoRA (the frozen weights need
    /// no weight gradients: forward 2N + input gradients 2N; the adapters' own FLOPs are negligible). Activation
    /// checkpointing's recomputed forward is not counted, as in the usual MFU definition. N counts every weight
    /// that takes part in matmuls (embeddings' lookup excluded, LM head included).
    /// </summary>
    public static double FlopsPerToken(TrainBenchSettings s, long parameters)
    {
        long lookup = (long)s.Vocab * s.Hidden;
        double n = parameters - lookup;
        return (s.Method == "full" ? 6 : 4) * n;
    }

    /// <summary>Peak matmul throughput of this CPU for the dtype (FLOP/s), the denominator of the utilisation figure.</summary>
    public static double MeasurePeakMatmulFlops(ScalarType dtype, int threads)
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Threads = threads;
        using var scope = NewDisposeScope();
        const int n = 1024;
        var a = randn(n, n, dtype: dtype);
        var b = randn(n, n, dtype: dtype);
        for (int i = 0; i < 2; i++) a.matmul(b);
        var clock = Stopwatch.StartNew();
        int repeats = 0;
        while (clock.Elapsed.TotalSeconds < 1.0) { a.matmul(b); repeats++; }
        return 2.0 * n * n * n * repeats / clock.Elapsed.TotalSeconds;
    }
}
