using System.Globalization;
using System.Text;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training.Loss;
using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>One part of a training run's peak memory.</summary>
/// <param name="Name">What it is ("weights", "optimizer states", …).</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Detail">How it was counted.</param>
public sealed record MemoryComponent(string Name, long Bytes, string Detail);

/// <summary>A peak-memory estimate for a training run, by component, made before anything is loaded.</summary>
/// <param name="Components">The parts, in the order they are printed.</param>
/// <param name="TotalParameters">Parameters of the model.</param>
/// <param name="TrainableParameters">Parameters that train (LoRA: the adapter; BAdam: the largest block).</param>
/// <param name="Device">The device the estimate is for (CPU: resident memory; CUDA: device memory).</param>
public sealed record MemoryEstimate(IReadOnlyList<MemoryComponent> Components, long TotalParameters, long TrainableParameters, DeviceType Device)
{
    /// <summary>The estimated peak.</summary>
    public long TotalBytes => Components.Sum(c => c.Bytes);

    /// <summary>True when the estimate fits in <paramref name="capacityBytes"/> (what the board warns about).</summary>
    public bool Fits(long capacityBytes) => TotalBytes <= capacityBytes;

    /// <summary>A printable breakdown, one component a line, then the total.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        int width = Components.Max(c => c.Name.Length);
        foreach (var c in Components)
            text.AppendLine(CultureInfo.InvariantCulture, $"  {c.Name.PadRight(width)}  {ProcessMemory.Format(c.Bytes),11}  {c.Detail}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"total (peak)".PadRight(width)}  {ProcessMemory.Format(TotalBytes),11}");
        return text.ToString();
    }
}

/// <summary>
/// Estimates the peak memory of a training run from the model's config.json and the options, before launch (the
/// board shows it next to Start; <c>llamaboard estimate</c> prints it). Counted: weights (quantized projections at
/// their packed size), gradients, fp32 master copies of half-precision trainables, optimizer states (AdamW: two
/// fp32 moments; GaLore: moments in the projected shape plus projectors; BAdam: only the active block), activations
/// (with checkpointing one (B, T, H) input per layer plus one layer recomputed; without, every layer's saved
/// tensors, attention scores included), the chunked loss's logits block, and the runtime itself.
/// </summary>
/// <remarks>
/// Activation sizes follow what autograd keeps for this model's layers (norm outputs, q/k/v before and after RoPE,
/// expanded k/v for grouped-query attention, attention scores and probabilities of the explicit-mask path, the MLP's
/// gate/up/activation/product); it is an estimate of what PyTorch-style eager execution holds, not a trace.
/// </remarks>
public static class MemoryEstimator
{
    /// <summary>Resident memory of the process before any model: .NET, libtorch, tokenizer and data (measured here: ≈ 0.2–0.3 GiB).</summary>
    public const long CpuRuntimeBytes = 300L << 20;

    /// <summary>A CUDA context and libtorch's kernels on the device (typically 0.3–0.5 GiB).</summary>
    public const long CudaRuntimeBytes = 450L << 20;

    /// <summary>
    /// Memory of <paramref name="device"/> to compare an estimate with: the GPU's total (NVML) or the machine's (or
    /// container's) physical memory; null when unknown.
    /// </summary>
    public static long? DeviceCapacity(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            var gpus = Nvml.ReadAll();
            return gpus.Count == 0 ? null : gpus[Math.Clamp((int)device.index, 0, gpus.Count - 1)].TotalBytes;
        }
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total : null;
    }

    /// <summary>Estimates for the model folder named by <paramref name="options"/> (its config.json is read).</summary>
    public static MemoryEstimate Estimate(LlamaBoardOptions options, string modelFolder, DeviceType device = DeviceType.CPU) =>
        Estimate(options, HfModelLoader.ReadConfig(modelFolder), device);

    /// <summary>Estimates the peak memory of training <paramref name="config"/> as <paramref name="options"/> ask.</summary>
    public static MemoryEstimate Estimate(LlamaBoardOptions options, ModelConfig config, DeviceType device = DeviceType.CPU)
    {
        var parameters = ParameterInventory.Of(config);
        var finetuning = options.Finetuning;
        var method = finetuning.FinetuningType;
        var dtype = options.ComputeDType;
        int w = dtype == ScalarType.Float32 ? 4 : 2;
        int? bits = method == FinetuningType.Lora ? options.Model.Quantization.Bit : null;
        var components = new List<MemoryComponent>();

        // Weights.
        var quantized = bits is null ? [] : parameters.Where(p => p.IsProjection && p.Name != "lm_head.weight").ToList();
        long quantizedElements = quantized.Sum(p => p.Elements);
        long denseElements = parameters.Sum(p => p.Elements) - quantizedElements;
        long quantizedBytes = quantized.Sum(p => QuantizedBytes(p, bits ?? 0, options.Model.Quantization.DoubleQuantization));
        components.Add(new("weights", denseElements * w + quantizedBytes,
            bits is null ? $"{denseElements:N0} parameters in {DTypes.HfName(dtype)}"
                         : $"{quantizedElements:N0} quantized to {bits} bits ({ProcessMemory.Format(quantizedBytes)}), {denseElements:N0} in {DTypes.HfName(dtype)}"));

        // What trains, and in which dtype.
        var trainable = Trainable(parameters, options, config);
        long trainableElements = trainable.Sum(t => t.Elements);
        bool adapterFp32 = method == FinetuningType.Lora;       // adapters live in fp32; full/freeze in the compute dtype
        int trainableBytes = adapterFp32 ? 4 : w;
        var optimized = trainable;                               // what holds masters and optimizer state at the peak
        string scope = "";
        bool badamRatio = finetuning.BAdam.UseBadam && method != FinetuningType.Lora && finetuning.BAdam.Mode == BAdamMode.Ratio;
        if (finetuning.BAdam.UseBadam && method != FinetuningType.Lora && !badamRatio)
        {
            optimized = trainable.Where(t => t.Layer is not null).GroupBy(t => t.Layer).Select(g => g.ToList())
                                 .MaxBy(g => g.Sum(t => t.Elements)) ?? [];
            scope = " (BAdam: the largest block)";
        }
        else if (badamRatio)
        {
            // Embeddings and head frozen; the rest gets dense gradients (no hooks to sparsify them) but masters and
            // moments only for the drawn ratio of its entries.
            optimized = trainable.Where(t => !t.Name.Contains("embed_tokens", StringComparison.Ordinal) && t.Name != "lm_head.weight").ToList();
        }
        long optimizedElements = optimized.Sum(t => t.Elements);
        long stateElements = badamRatio
            ? optimized.Sum(t => t.Elements < RatioBlockOptimizer.PreserveThreshold ? t.Elements : Math.Max(1, (long)Math.Round(finetuning.BAdam.UpdateRatio * t.Elements)))
            : optimizedElements;
        if (badamRatio) scope = $" (BAdam ratio {finetuning.BAdam.UpdateRatio:0.###}: {stateElements:N0} drawn entries)";
        // The half-precision gradients of full/freeze are copied to fp32 at the step (BAdam ratio: the drawn entries only).
        long gradientBytes = optimizedElements * trainableBytes + (trainableBytes == 4 ? 0 : stateElements * 4);
        components.Add(new("gradients", gradientBytes,
            $"{optimizedElements:N0} trainable × {trainableBytes} B{(trainableBytes == 4 ? "" : " + fp32 copies at the step")}{scope}"));
        if (trainableBytes != 4 || badamRatio)
            components.Add(new("fp32 masters", stateElements * 4L, $"{stateElements:N0} × 4 B{scope}"));

        bool sgd = options.Training.Optim == OptimizerName.Sgd;
        if (finetuning.GaLore.UseGalore && method != FinetuningType.Lora)
        {
            var targets = GaLoreTargets(trainable, finetuning.GaLore.Target);
            int r = finetuning.GaLore.Rank;
            long projected = targets.Sum(t => 2L * Math.Min(r, Math.Min(t.Rows, t.Columns)) * Math.Max(t.Rows, t.Columns) + (long)r * Math.Min(t.Rows, t.Columns));
            long plain = trainable.Except(targets).Sum(t => 2L * t.Elements);
            components.Add(new("optimizer states", (projected + plain) * 4,
                $"GaLore rank {r}: moments of {targets.Count} weights in the projected shape + projectors, AdamW for the rest"));
        }
        else if (!sgd)
        {
            components.Add(new("optimizer states", stateElements * 8L, $"AdamW: 2 × {stateElements:N0} × 4 B{scope}"));
        }
        // The update of the largest parameter makes a few temporaries of its size (√v, the step, the decayed copy);
        // BAdam ratio gathers the drawn gradients of all parameters at once.
        long largestTrainable = optimized.Count == 0 ? 0 : badamRatio ? stateElements : optimized.Max(t => t.Elements);
        if (largestTrainable > 0)
            components.Add(new("optimizer step", 3 * largestTrainable * 4L, $"temporaries of the largest trainable tensor ({largestTrainable:N0})"));
        // A trainable output head: the chunked loss accumulates its fp32 (vocab, hidden) gradient, and autograd sums it
        // with the embedding's when they are tied.
        string head = config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
        if (optimized.Any(t => t.Name == head))
            components.Add(new("head gradient", (config.TieWordEmbeddings ? 2 : 1) * (long)config.VocabSize * config.HiddenSize * 4,
                $"fp32 (vocab, hidden) gradient of the loss{(config.TieWordEmbeddings ? ", summed with the tied embedding's" : "")}"));

        // Activations.
        long rows = Math.Max(1, options.Training.PerDeviceTrainBatchSize), length = Math.Max(1, options.Data.CutoffLen);
        long tokens = rows * length;
        long perLayer = LayerActivationBytes(config, rows, length, w, method == FinetuningType.Lora, options.Finetuning.Lora.Rank);
        long inputs = tokens * config.HiddenSize * w;
        if (options.UseGradientCheckpointing)
            components.Add(new("activations", config.NumLayers * inputs + perLayer,
                $"checkpointing: {config.NumLayers} layer inputs ({rows}×{length}×{config.HiddenSize}) + one layer recomputed ({ProcessMemory.Format(perLayer)})"));
        else
            components.Add(new("activations", config.NumLayers * (inputs + perLayer),
                $"{config.NumLayers} layers × {ProcessMemory.Format(inputs + perLayer)} ({rows}×{length} tokens)"));

        // The loss: hidden states of the target positions and one fp32 logits block with its softmax and gradient.
        long chunkRows = Math.Max(1, Math.Min(tokens, ChunkedCrossEntropy.DefaultBlockElements / config.VocabSize));
        components.Add(new("logits chunk", 3 * chunkRows * config.VocabSize * 4L + tokens * config.HiddenSize * 4L,
            $"{chunkRows} positions × vocab {config.VocabSize} in fp32 (logits, softmax, gradient)"));
        if (bits is not null)
        {
            long largest = quantized.Max(p => p.Elements);
            components.Add(new("dequantization", largest * (6L + w), "one projection dequantized (int32 indices, fp32 values, the compute dtype)"));
        }
        components.Add(device == DeviceType.CUDA
            ? new("runtime", CudaRuntimeBytes, "CUDA context and kernels")
            : new("runtime", CpuRuntimeBytes, ".NET, libtorch, tokenizer and data"));
        return new MemoryEstimate(components, parameters.Sum(p => p.Elements), badamRatio ? stateElements : optimizedElements, device);
    }

    static long QuantizedBytes(ParameterShape p, int bits, bool doubleQuantization)
    {
        if (bits == 8) return p.Elements + p.Rows * 4;
        // FourBitWeight's buffers: 32 packed bytes a block and the 16-entry code book; the scales either in fp32, or as
        // 8-bit codes padded to whole groups of 256 with an fp32 absmax a group, the 256-entry code book and the offset.
        long blocks = (p.Elements + 63) / 64, groups = (blocks + 255) / 256;
        long scales = doubleQuantization ? groups * 256 + groups * 4 + 256 * 4 + 4 : blocks * 4;
        return blocks * 32 + scales + 16 * 4;
    }

    /// <summary>Bytes autograd keeps for one decoder layer (without its input), for (rows, length) tokens.</summary>
    static long LayerActivationBytes(ModelConfig config, long rows, long length, int w, bool lora, int rank)
    {
        long tokens = rows * length;
        long h = config.HiddenSize, q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKvHeads * config.HeadDim, i = config.IntermediateSize;
        // Norm outputs (2–4 × H), q/k/v projections and their RoPE'd copies, k/v expanded to every head, the attention
        // output, the residual sums; the MLP's gate, up, activation and product.
        long perToken = 4 * h + 2 * q + 2 * kv + 2 * q + q + 2 * h + 4 * i;
        if (config.QkNorm) perToken += q + kv;
        long bytes = tokens * perToken * w;
        // Attention scores and probabilities of the explicit-mask path (padding masks, sliding windows).
        bytes += 2 * rows * config.NumHeads * length * length * w;
        // LoRA: each adapted projection casts its input to fp32 and keeps A·x (rank r).
        if (lora) bytes += tokens * (3 * h + q + 2 * h + i + 7L * rank) * 4;
        return bytes;
    }

    /// <summary>The parameters that train: full (all), freeze (the chosen layers/modules), LoRA (the adapters and modules_to_save).</summary>
    static List<ParameterShape> Trainable(IReadOnlyList<ParameterShape> parameters, LlamaBoardOptions options, ModelConfig config)
    {
        var finetuning = options.Finetuning;
        switch (finetuning.FinetuningType)
        {
            case FinetuningType.Full:
                return parameters.ToList();
            case FinetuningType.Freeze:
            {
                var freeze = finetuning.Freeze;
                int n = freeze.TrainableLayers;
                var layers = n > 0 ? Enumerable.Range(Math.Max(0, config.NumLayers - n), Math.Min(n, config.NumLayers))
                                   : Enumerable.Range(0, Math.Min(-n, config.NumLayers));
                bool allModules = freeze.TrainableModules.Count == 0 || freeze.TrainableModules.Any(m => m == "all");
                var prefixes = layers.SelectMany(id => allModules ? [$"model.layers.{id}."]
                    : freeze.TrainableModules.Select(m => $"model.layers.{id}.{m}.")).ToList();
                var extra = freeze.ExtraModules ?? [];
                return parameters.Where(p => prefixes.Any(x => p.Name.StartsWith(x, StringComparison.Ordinal))
                                             || extra.Any(m => p.Name.StartsWith($"model.{m}.", StringComparison.Ordinal) || p.Name.StartsWith($"{m}.", StringComparison.Ordinal)))
                                 .ToList();
            }
            default:
            {
                var lora = finetuning.Lora;
                bool all = lora.Target.Count == 0 || lora.Target.Any(t => t.Equals("all", StringComparison.OrdinalIgnoreCase));
                var adapted = parameters.Where(p => p.IsProjection && (all ? p.Name != "lm_head.weight"
                    : lora.Target.Any(t => p.Module == t || p.Module.EndsWith("." + t, StringComparison.Ordinal)))).ToList();
                var result = adapted.Select(p => new ParameterShape(p.Name + ".lora", lora.Rank, p.Rows + p.Columns, false, p.Layer,
                                                                    Extra: lora.UseDora ? p.Rows : 0)).ToList();
                foreach (string module in lora.AdditionalTarget ?? [])
                    result.AddRange(parameters.Where(p => p.Module == module || p.Module.EndsWith("." + module, StringComparison.Ordinal)));
                return result;
            }
        }
    }

    static List<ParameterShape> GaLoreTargets(List<ParameterShape> trainable, IReadOnlyList<string> targets)
    {
        bool all = targets.Count == 1 && targets[0].Equals("all", StringComparison.OrdinalIgnoreCase);
        return trainable.Where(p => p.IsProjection && p.Columns > 1 && (all ? p.Name != "lm_head.weight" : targets.Any(t => p.Module.Contains(t.Trim(), StringComparison.Ordinal))))
                        .ToList();
    }
}

/// <summary>One parameter by HF name and (rows, columns); vectors have one column.</summary>
/// <param name="Name">HF parameter name.</param>
/// <param name="Rows">Rows (output features for a projection).</param>
/// <param name="Columns">Columns (input features), 1 for vectors.</param>
/// <param name="IsProjection">A linear layer's weight (decoder projections and lm_head).</param>
/// <param name="Layer">Its decoder layer, or null.</param>
/// <param name="Extra">Extra elements (DoRA's magnitude for an adapter).</param>
public sealed record ParameterShape(string Name, long Rows, long Columns, bool IsProjection, int? Layer, long Extra = 0)
{
    /// <summary>Element count.</summary>
    public long Elements => Rows * Columns + Extra;

    /// <summary>The owning module's name.</summary>
    public string Module => Name[..Name.LastIndexOf('.')];
}

/// <summary>The parameters a <see cref="ModelConfig"/> implies, by HF name, without building the model.</summary>
public static class ParameterInventory
{
    /// <summary>Every parameter of the <see cref="DecoderModel"/> that <paramref name="config"/> describes.</summary>
    public static IReadOnlyList<ParameterShape> Of(ModelConfig config)
    {
        long h = config.HiddenSize, q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKvHeads * config.HeadDim, i = config.IntermediateSize;
        var list = new List<ParameterShape> { new("model.embed_tokens.weight", config.VocabSize, h, false, null) };
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string a = $"model.layers.{layer}.self_attn.", m = $"model.layers.{layer}.mlp.";
            void Linear(string name, long rows, long columns, bool bias)
            {
                list.Add(new(name + ".weight", rows, columns, true, layer));
                if (bias) list.Add(new(name + ".bias", rows, 1, false, layer));
            }
            Linear(a + "q_proj", q, h, config.QkvBias);
            Linear(a + "k_proj", kv, h, config.QkvBias);
            Linear(a + "v_proj", kv, h, config.QkvBias);
            Linear(a + "o_proj", h, q, config.OutputBias);
            if (config.QkNorm)
            {
                list.Add(new(a + "q_norm.weight", config.HeadDim, 1, false, layer));
                list.Add(new(a + "k_norm.weight", config.HeadDim, 1, false, layer));
            }
            Linear(m + "gate_proj", i, h, config.MlpBias);
            Linear(m + "up_proj", i, h, config.MlpBias);
            Linear(m + "down_proj", h, i, config.MlpBias);
            foreach (string norm in config.SandwichNorms
                         ? new[] { "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm" }
                         : ["input_layernorm", "post_attention_layernorm"])
                list.Add(new($"model.layers.{layer}.{norm}.weight", h, 1, false, layer));
        }
        list.Add(new("model.norm.weight", h, 1, false, null));
        if (!config.TieWordEmbeddings) list.Add(new("lm_head.weight", config.VocabSize, h, true, null));
        return list;
    }
}
