using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>BAdam's ratio mode settings (LLaMA-Factory's badam_update_ratio, badam_mask_mode, badam_switch_interval).</summary>
/// <param name="UpdateRatio">Fraction of each parameter's entries that train (0, 1].</param>
/// <param name="Scatter">true: entries scattered at random; false (adjacent): one contiguous run of the flattened parameter.</param>
/// <param name="SwitchInterval">Optimizer steps before new entries are drawn (and the moments start afresh); -1 never.</param>
/// <param name="Seed">Seed of the draws.</param>
/// <param name="Verbose">1 logs each draw.</param>
public sealed record BAdamRatioSettings(double UpdateRatio = 0.05, bool Scatter = false, int SwitchInterval = 50, int Seed = 42, int Verbose = 0);

/// <summary>
/// BAdam, ratio mode: every trainable parameter trains only a drawn fraction of its entries (badam_update_ratio),
/// with Adam moments and fp32 masters kept for those entries alone, so optimizer state is ratio × that of AdamW.
/// Every badam_switch_interval steps new entries are drawn and their moments start from zero, which makes it block
/// coordinate descent over entries instead of layers. Embeddings and the output head stay frozen (BAdam's
/// include_embedding off); parameters smaller than 100 entries train in full, as BAdam preserves them.
/// </summary>
/// <remarks>
/// BAdam sparsifies gradients in per-parameter hooks as they are accumulated; TorchSharp has no such hooks, so the
/// dense gradients exist until the step, which gathers the drawn entries. The saving is therefore in optimizer
/// states and masters, not in gradients. Clipping (max_grad_norm) applies to the drawn entries' gradients, which are
/// all BAdam's optimizer ever sees. The update is AdamW's (decoupled weight decay, bias-corrected moments) restricted
/// to the drawn entries; at ratio 1 it equals AdamW.
/// </remarks>
public sealed class RatioBlockOptimizer : ITrainingOptimizer
{
    /// <summary>Parameters with fewer entries train in full (BAdam's preserve threshold).</summary>
    public const long PreserveThreshold = 100;

    sealed class Slot(TrainableParameter spec)
    {
        public TrainableParameter Spec { get; } = spec;
        public Tensor Index = null!;     // (k) int64 positions in the flattened parameter
        public Tensor Master = null!;    // (k) fp32
        public Tensor First = null!;     // (k) fp32 first moment
        public Tensor Second = null!;    // (k) fp32 second moment

        public void Release()
        {
            Index?.Dispose();
            Master?.Dispose();
            First?.Dispose();
            Second?.Dispose();
        }
    }

    readonly List<Slot> slots;
    readonly OptimizerSettings settings;
    readonly BAdamRatioSettings ratio;
    readonly Action<string>? log;
    int stepsSinceDraw, draws;
    double lastMultiplier = 1.0;

    /// <summary>Sets up ratio-mode BAdam over <paramref name="parameters"/> (full or freeze tuning's trainable parameters).</summary>
    public RatioBlockOptimizer(IReadOnlyList<TrainableParameter> parameters, OptimizerSettings settings, BAdamRatioSettings ratio, Action<string>? log = null)
    {
        if (ratio.UpdateRatio is not (> 0 and <= 1))
            throw new ArgumentException($"badam_update_ratio: {ratio.UpdateRatio} must be in (0, 1].");
        if (ratio.SwitchInterval == 0 || ratio.SwitchInterval < -1)
            throw new ArgumentException($"badam_switch_interval: {ratio.SwitchInterval} must be positive, or -1 to never draw again.");
        if (!OptimizerKinds.IsAdamW(settings.Kind))
            throw new ArgumentException($"optim '{settings.Kind}' cannot be combined with use_badam; BAdam runs Adam (use adamw_torch).");
        if (settings.GaLore is not null) throw new ArgumentException("use_badam cannot be combined with use_galore.");
        this.settings = settings;
        this.ratio = ratio;
        this.log = log;
        var frozen = parameters.Where(p => IsEmbeddingOrHead(p.Name)).ToList();
        foreach (var spec in frozen)
        {
            spec.Parameter.requires_grad = false;
            spec.Parameter.grad = null;
        }
        slots = parameters.Where(p => !IsEmbeddingOrHead(p.Name)).Select(p => new Slot(p)).ToList();
        if (slots.Count == 0)
            throw new ArgumentException("use_badam: nothing to train besides embeddings and the output head, which BAdam keeps frozen.");
        if (frozen.Count > 0)
            log?.Invoke($"BAdam (ratio) keeps the embeddings and the output head frozen ({string.Join(", ", frozen.Select(p => p.Name))}).");
        Draw();
    }

    /// <summary>Entries that train now (the drawn ones of every parameter).</summary>
    public long ActiveElements => slots.Sum(s => s.Index.numel());

    /// <summary>The drawn positions (flattened) of parameter <paramref name="name"/>.</summary>
    public long[] ActivePositions(string name) => slots.Single(s => s.Spec.Name == name).Index.data<long>().ToArray();

    /// <inheritdoc />
    public IEnumerable<TrainableParameter> Parameters => slots.Select(s => s.Spec);

    /// <inheritdoc />
    public long TrainableElements => ActiveElements;

    /// <inheritdoc />
    public double CurrentLearningRate => settings.LearningRate * lastMultiplier;

    /// <inheritdoc />
    public void ZeroGrad()
    {
        foreach (var slot in slots) slot.Spec.Parameter.grad = null;
    }

    /// <inheritdoc />
    public double? Step(double learningRateMultiplier, double maxGradNorm)
    {
        lastMultiplier = learningRateMultiplier;
        double? norm = null;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var gradients = slots.Select(s => s.Spec.Parameter.grad is null ? null
                : s.Spec.Parameter.grad.reshape(-1).index_select(0, s.Index).to_type(ScalarType.Float32)).ToList(); // (k) each
            if (maxGradNorm > 0)
            {
                var present = gradients.Where(g => g is not null).Select(g => g!.pow(2).sum()).ToList();
                if (present.Count > 0)
                {
                    double total = Math.Sqrt(stack(present).sum().item<float>());
                    norm = total;
                    // torch's clip_grad_norm_: scale by max / (norm + 1e-6) when that is below 1.
                    double coefficient = maxGradNorm / (total + 1e-6);
                    if (coefficient < 1) foreach (var g in gradients) g?.mul_(coefficient);
                }
            }
            stepsSinceDraw++;
            double lr = settings.LearningRate * learningRateMultiplier;
            double correction1 = 1 - Math.Pow(settings.Beta1, stepsSinceDraw), correction2 = 1 - Math.Pow(settings.Beta2, stepsSinceDraw);
            for (int i = 0; i < slots.Count; i++)
            {
                if (gradients[i] is not { } g) continue;
                var slot = slots[i];
                double rate = lr * slot.Spec.LearningRateScale;
                slot.First.mul_(settings.Beta1).add_(g, alpha: 1 - settings.Beta1);
                slot.Second.mul_(settings.Beta2).addcmul_(g, g, value: 1 - settings.Beta2);
                if (slot.Spec.WeightDecay && settings.WeightDecay > 0) slot.Master.mul_(1 - rate * settings.WeightDecay);
                var denominator = (slot.Second.sqrt() / Math.Sqrt(correction2)).add_(settings.Epsilon);      // (k)
                slot.Master.addcdiv_(slot.First, denominator, value: -rate / correction1);
                var parameter = slot.Spec.Parameter;
                parameter.view(-1).index_copy_(0, slot.Index, slot.Master.to_type(parameter.dtype));
            }
        }
        if (ratio.SwitchInterval > 0 && stepsSinceDraw >= ratio.SwitchInterval) Draw();
        return norm;
    }

    /// <summary>Draws new entries for every parameter and starts their masters and moments afresh.</summary>
    void Draw()
    {
        // One generator per draw, seeded by the draw's number, so a resumed run draws what the first run would have.
        var random = new Random(ratio.Seed + 7919 * draws);
        using var generator = new Generator((ulong)(ratio.Seed + 7919L * draws));
        foreach (var slot in slots)
        {
            slot.Release();
            var parameter = slot.Spec.Parameter;
            long count = parameter.numel();
            long k = count < PreserveThreshold ? count : Math.Max(1, (long)Math.Round(ratio.UpdateRatio * count));
            using var scope = NewDisposeScope();
            Tensor index;
            if (k == count) index = arange(count, dtype: ScalarType.Int64, device: parameter.device);
            else if (ratio.Scatter) index = randperm(count, generator: generator, dtype: ScalarType.Int64).narrow(0, 0, k).sort().Values.to(parameter.device);
            else
            {
                long start = random.NextInt64(0, count - k + 1);
                index = arange(start, start + k, dtype: ScalarType.Int64, device: parameter.device);
            }
            slot.Index = index.DetachFromDisposeScope();
            using (no_grad())
                slot.Master = parameter.detach().reshape(-1).index_select(0, slot.Index).to_type(ScalarType.Float32).DetachFromDisposeScope();
            slot.First = zeros_like(slot.Master).DetachFromDisposeScope();
            slot.Second = zeros_like(slot.Master).DetachFromDisposeScope();
            parameter.requires_grad = true;
        }
        draws++;
        stepsSinceDraw = 0;
        if (ratio.Verbose >= 1)
            log?.Invoke($"BAdam (ratio): drew {ActiveElements:N0} of {slots.Sum(s => s.Spec.Parameter.numel()):N0} entries " +
                        $"({(ratio.Scatter ? "scatter" : "adjacent")}, draw {draws}).");
    }

    static bool IsEmbeddingOrHead(string name) =>
        name.Contains("embed_tokens", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal);

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(draws);
        writer.Write(stepsSinceDraw);
        writer.Write(slots.Count);
        foreach (var slot in slots)
        {
            writer.Write(slot.Spec.Name);
            writer.Write(slot.Index.numel());
            slot.Index.Save(writer);
            slot.Master.Save(writer);
            slot.First.Save(writer);
            slot.Second.Save(writer);
        }
    }

    /// <inheritdoc />
    public void Load(Stream stream, string sourceName)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            int savedDraws = reader.ReadInt32(), savedSteps = reader.ReadInt32(), count = reader.ReadInt32();
            if (count != slots.Count)
                throw new InvalidDataException($"{sourceName}: BAdam (ratio) state has {count} parameters; this run trains {slots.Count}. Resume with the same settings.");
            foreach (var slot in slots)
            {
                string name = reader.ReadString();
                long k = reader.ReadInt64();
                if (name != slot.Spec.Name || k != slot.Index.numel())
                    throw new InvalidDataException($"{sourceName}: BAdam (ratio) state is for '{name}' ({k} entries) where this run has '{slot.Spec.Name}' ({slot.Index.numel()}); resume with the same badam_update_ratio.");
                using (no_grad())
                {
                    slot.Index.Load(reader);
                    slot.Master.Load(reader);
                    slot.First.Load(reader);
                    slot.Second.Load(reader);
                    var parameter = slot.Spec.Parameter;
                    parameter.view(-1).index_copy_(0, slot.Index, slot.Master.to_type(parameter.dtype));
                }
            }
            draws = savedDraws;
            stepsSinceDraw = savedSteps;
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{sourceName}: optimizer state is truncated.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var slot in slots) slot.Release();
    }
}
