using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>
/// GaLore's AdamW (galore_torch.AdamW, which LLaMA-Factory uses for every parameter group when use_galore is on):
/// for target weights the gradient is projected to rank r (<see cref="GaLoreProjector"/>) and the Adam moments live in
/// that projected shape; the normalised step m/(√v + ε) is projected back and scaled. The Adam arithmetic is
/// transformers' form that GaLore keeps: ε is added to √v without bias correction, the step size is
/// lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and decoupled weight decay p ← p − lr·wd·p comes after the update.
/// </summary>
internal sealed class GaLoreAdamW : IUpdateRule
{
    sealed class State : IDisposable
    {
        public long Step;
        public Tensor? ExpAvg;
        public Tensor? ExpAvgSq;
        public GaLoreProjector? Projector;

        public void Dispose()
        {
            ExpAvg?.Dispose();
            ExpAvgSq?.Dispose();
            Projector?.Dispose();
        }
    }

    readonly List<(TrainableParameter Spec, Parameter Master, State State)> entries = [];
    readonly OptimizerSettings settings;

    public GaLoreAdamW(IReadOnlyList<(TrainableParameter Spec, Parameter Master)> parameters, OptimizerSettings settings)
    {
        var galore = settings.GaLore!;
        galore.Validate();
        if (!OptimizerKinds.IsAdamW(settings.Kind))
            throw new ArgumentException($"optim: {settings.Kind} cannot be used with use_galore; LlamaBoard's GaLore runs AdamW (adamw_torch).");
        this.settings = settings;
        foreach (var (spec, master) in parameters)
        {
            var state = new State();
            if (galore.Targets.Contains(spec.Name) && master.dim() == 2)
                state.Projector = new GaLoreProjector(galore.Rank, galore.UpdateInterval, galore.Scale);
            entries.Add((spec, master, state));
        }
    }

    /// <summary>Number of parameters whose gradients are projected.</summary>
    public int ProjectedCount => entries.Count(e => e.State.Projector is not null);

    public void Step(double learningRateMultiplier)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double beta1 = settings.Beta1, beta2 = settings.Beta2;
        foreach (var (spec, master, state) in entries)
        {
            if (master.grad is not { } fullGradient) continue;
            using var stepScope = NewDisposeScope();
            double rate = settings.LearningRate * spec.LearningRateScale * learningRateMultiplier;
            var gradient = state.Projector is { } projector ? projector.Project(fullGradient, state.Step) : fullGradient; // (m, r) | (r, n) | full
            state.ExpAvg ??= zeros_like(gradient).DetachFromDisposeScope();
            state.ExpAvgSq ??= zeros_like(gradient).DetachFromDisposeScope();
            state.ExpAvg.mul_(beta1).add_(gradient, alpha: 1 - beta1);
            state.ExpAvgSq.mul_(beta2).addcmul_(gradient, gradient, value: 1 - beta2);
            var denominator = state.ExpAvgSq.sqrt().add_(settings.Epsilon);
            state.Step++;
            double stepSize = rate * Math.Sqrt(1 - Math.Pow(beta2, state.Step)) / (1 - Math.Pow(beta1, state.Step));
            var update = state.ExpAvg / denominator;
            if (state.Projector is not null) update = state.Projector.ProjectBack(update);         // (m, n)
            master.add_(update, alpha: -stepSize);
            double decay = spec.WeightDecay ? settings.WeightDecay : 0;
            if (decay > 0) master.add_(master, alpha: -rate * decay);
        }
    }

    public void Save(BinaryWriter writer)
    {
        writer.Write(entries.Count);
        foreach (var (spec, _, state) in entries)
        {
            writer.Write(spec.Name);
            writer.Write(state.Step);
            TensorIO.WriteOptional(writer, state.ExpAvg);
            TensorIO.WriteOptional(writer, state.ExpAvgSq);
            TensorIO.WriteOptional(writer, state.Projector?.Matrix);
            writer.Write(state.Projector?.Right ?? false);
        }
    }

    public void Load(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count != entries.Count)
            throw new InvalidDataException($"GaLore state has {count} parameters; this run trains {entries.Count}.");
        foreach (var (spec, master, state) in entries)
        {
            string name = reader.ReadString();
            if (name != spec.Name) throw new InvalidDataException($"GaLore state is for '{name}' where this run has '{spec.Name}'.");
            state.Step = reader.ReadInt64();
            state.ExpAvg?.Dispose();
            state.ExpAvgSq?.Dispose();
            state.ExpAvg = TensorIO.ReadOptional(reader, master.device);
            state.ExpAvgSq = TensorIO.ReadOptional(reader, master.device);
            var matrix = TensorIO.ReadOptional(reader, master.device);
            bool right = reader.ReadBoolean();
            if (matrix is not null)
            {
                if (state.Projector is null) throw new InvalidDataException($"GaLore state projects '{name}', which this run does not target.");
                state.Projector.Restore(matrix, right);
            }
        }
    }

    public void Dispose()
    {
        foreach (var (_, _, state) in entries) state.Dispose();
    }
}

/// <summary>fp32 tensors in optimizer files: a presence flag, the shape, then the values.</summary>
internal static class TensorIO
{
    public static void WriteOptional(BinaryWriter writer, Tensor? tensor)
    {
        writer.Write(tensor is not null);
        if (tensor is null) return;
        using var cpu = tensor.to_type(ScalarType.Float32).cpu().contiguous();
        writer.Write(cpu.dim());
        foreach (long size in cpu.shape) writer.Write(size);
        foreach (float value in cpu.data<float>()) writer.Write(value);
    }

    public static Tensor? ReadOptional(BinaryReader reader, Device device)
    {
        if (!reader.ReadBoolean()) return null;
        long rank = reader.ReadInt64();
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = reader.ReadInt64();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = reader.ReadSingle();
        return tensor(values).view(shape).to(device).DetachFromDisposeScope();
    }
}
