using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>One trainable parameter as the optimizer sees it.</summary>
/// <param name="Name">HF/PEFT name, for example <c>model.layers.0.self_attn.q_proj.lora_B.weight</c>.</param>
/// <param name="Parameter">The model's parameter (any dtype).</param>
/// <param name="WeightDecay">Whether weight decay applies (HF: not for biases and norm weights).</param>
/// <param name="LearningRateScale">Multiplier of the base rate (LoRA+ gives B matrices their own rate).</param>
public sealed record TrainableParameter(string Name, Parameter Parameter, bool WeightDecay, double LearningRateScale = 1.0);

/// <summary>Optimizer hyper-parameters (HF TrainingArguments names in the docs).</summary>
/// <param name="Kind">optim: "adamw_torch" (and its aliases) or "sgd".</param>
/// <param name="LearningRate">learning_rate.</param>
/// <param name="WeightDecay">weight_decay.</param>
/// <param name="Beta1">adam_beta1.</param>
/// <param name="Beta2">adam_beta2.</param>
/// <param name="Epsilon">adam_epsilon.</param>
/// <param name="Momentum">SGD momentum (HF's sgd uses 0).</param>
/// <param name="GaLore">GaLore's low-rank gradient projection, or null.</param>
public sealed record OptimizerSettings(
    string Kind = "adamw_torch", double LearningRate = 5e-5, double WeightDecay = 0.0,
    double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double Momentum = 0.0, GaLoreSettings? GaLore = null);

/// <summary>What the training loop needs of an optimizer: step, zero, learning rate, and its state in checkpoints.</summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>The trainable parameters.</summary>
    IEnumerable<TrainableParameter> Parameters { get; }

    /// <summary>Number of trainable elements.</summary>
    long TrainableElements { get; }

    /// <summary>The learning rate of the last step (what HF logs as learning_rate).</summary>
    double CurrentLearningRate { get; }

    /// <summary>Clears gradients.</summary>
    void ZeroGrad();

    /// <summary>One step at <paramref name="learningRateMultiplier"/> × the base rate, clipping to <paramref name="maxGradNorm"/> when positive.</summary>
    /// <returns>The gradient norm before clipping, or null when not computed.</returns>
    double? Step(double learningRateMultiplier, double maxGradNorm);

    /// <summary>Writes the optimizer's state.</summary>
    void Save(Stream stream);

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another setup or is truncated.</exception>
    void Load(Stream stream, string sourceName);
}

/// <summary>The update applied to the fp32 masters once their gradients are in place (AdamW/SGD, GaLore).</summary>
internal interface IUpdateRule : IDisposable
{
    void Step(double learningRateMultiplier);
    void Save(BinaryWriter writer);
    void Load(BinaryReader reader);
}

/// <summary>
/// The optimizer step with fp32 master weights: trainable parameters that live in bf16/fp16 (full and freeze
/// tuning in a half dtype) get an fp32 copy that the optimizer updates; the model's copy is refreshed from it after
/// each step. fp32 parameters (LoRA adapters) are optimized in place. TorchSharp has no autocast or GradScaler, so
/// this is where mixed precision lives.
/// </summary>
public sealed class TrainingOptimizer : ITrainingOptimizer
{
    readonly List<(TrainableParameter Spec, Parameter Master)> entries = [];
    readonly IUpdateRule rule;
    double lastMultiplier = 1.0;

    /// <summary>Builds the optimizer over <paramref name="parameters"/>; parameters are grouped by (decay, rate scale).</summary>
    public TrainingOptimizer(IReadOnlyList<TrainableParameter> parameters, OptimizerSettings settings)
    {
        if (parameters.Count == 0)
            throw new ArgumentException("nothing to train: no parameter requires a gradient. Check finetuning_type, lora_target and freeze settings.");
        Settings = settings;
        foreach (var spec in parameters)
        {
            Parameter master = spec.Parameter.dtype == ScalarType.Float32
                ? spec.Parameter
                : new Parameter(spec.Parameter.detach().to_type(ScalarType.Float32).clone(), requires_grad: true);
            entries.Add((spec, master));
        }

        rule = settings.GaLore is not null
            ? new GaLoreAdamW(entries, settings)
            : new TorchOptimizerRule(entries, settings);
    }

    /// <summary>The hyper-parameters this optimizer was built with.</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>The trainable parameters, in the order given.</summary>
    public IEnumerable<TrainableParameter> Parameters => entries.Select(e => e.Spec);

    /// <summary>Number of trainable elements.</summary>
    public long TrainableElements => entries.Sum(e => e.Spec.Parameter.numel());

    /// <summary>Clears gradients of the model's parameters and of the masters.</summary>
    public void ZeroGrad()
    {
        foreach (var (spec, master) in entries)
        {
            spec.Parameter.grad = null;
            if (!ReferenceEquals(master, spec.Parameter)) master.grad = null;
        }
    }

    /// <summary>
    /// Takes one optimizer step at <paramref name="learningRateMultiplier"/> × the base rate: moves half-precision
    /// gradients to the fp32 masters, clips the global norm to <paramref name="maxGradNorm"/> (when positive), steps,
    /// and copies masters back into the model.
    /// </summary>
    /// <returns>The global gradient norm before clipping (null when clipping is off).</returns>
    public double? Step(double learningRateMultiplier, double maxGradNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (spec, master) in entries)
        {
            if (ReferenceEquals(master, spec.Parameter) || spec.Parameter.grad is null) continue;
            master.grad = spec.Parameter.grad.to_type(ScalarType.Float32);
        }
        double? norm = null;
        var withGrad = entries.Select(e => e.Master).Where(m => m.grad is not null).ToList();
        // Layer-wise GaLore updates each parameter on its own, so there is no global norm to clip (LLaMA-Factory
        // reports zeros); clipping is skipped as it is there.
        if (maxGradNorm > 0 && withGrad.Count > 0 && Settings.GaLore is not { Layerwise: true })
            norm = nn.utils.clip_grad_norm_(withGrad, maxGradNorm);
        lastMultiplier = learningRateMultiplier;
        rule.Step(learningRateMultiplier);
        foreach (var (spec, master) in entries)
        {
            if (!ReferenceEquals(master, spec.Parameter)) spec.Parameter.copy_(master);
        }
        return norm;
    }

    /// <summary>The learning rate of the first group (what HF logs as learning_rate).</summary>
    public double CurrentLearningRate => Settings.LearningRate * lastMultiplier;

    /// <summary>Writes the optimizer state and the fp32 masters (TorchSharp's binary format).</summary>
    public void Save(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(entries.Count);
        foreach (var (spec, master) in entries)
        {
            writer.Write(spec.Name);
            master.Save(writer);
        }
        rule.Save(writer);
    }

    /// <summary>Restores what <see cref="Save"/> wrote; names and shapes must match this optimizer's parameters.</summary>
    /// <exception cref="InvalidDataException">The state belongs to a different set of parameters, or is truncated.</exception>
    public void Load(Stream stream, string sourceName)
    {
        using var writerScope = NewDisposeScope();
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            int count = reader.ReadInt32();
            if (count != entries.Count)
                throw new InvalidDataException($"{sourceName}: optimizer state has {count} parameters; this run trains {entries.Count}. Resume with the same finetuning settings.");
            foreach (var (spec, master) in entries)
            {
                string name = reader.ReadString();
                if (name != spec.Name)
                    throw new InvalidDataException($"{sourceName}: optimizer state is for '{name}' where this run has '{spec.Name}'.");
                using (no_grad()) master.Load(reader);
                if (!ReferenceEquals(master, spec.Parameter))
                    using (no_grad()) spec.Parameter.copy_(master);
            }
            rule.Load(reader);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{sourceName}: optimizer state is truncated.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        rule.Dispose();
        foreach (var (spec, master) in entries)
            if (!ReferenceEquals(master, spec.Parameter)) master.Dispose();
    }
}

/// <summary>TorchSharp's AdamW or SGD over the masters, one parameter group per (decay, rate scale).</summary>
internal sealed class TorchOptimizerRule : IUpdateRule
{
    readonly optim.Optimizer optimizer;
    readonly List<(optim.ILearningRateController Group, double Scale)> groups = [];
    readonly double baseRate;

    public TorchOptimizerRule(IReadOnlyList<(TrainableParameter Spec, Parameter Master)> entries, OptimizerSettings settings)
    {
        baseRate = settings.LearningRate;
        var grouped = entries.GroupBy(e => (e.Spec.WeightDecay, e.Spec.LearningRateScale)).ToList();
        string kind = settings.Kind.ToLowerInvariant();
        if (kind is "sgd")
        {
            var sgdGroups = grouped.Select(g => new SGD.ParamGroup(g.Select(e => e.Master),
                lr: settings.LearningRate * g.Key.LearningRateScale, momentum: settings.Momentum,
                weight_decay: g.Key.WeightDecay ? settings.WeightDecay : 0)).ToList();
            optimizer = optim.SGD(sgdGroups, settings.LearningRate);
        }
        else if (OptimizerKinds.IsAdamW(kind))
        {
            var adamGroups = grouped.Select(g => new AdamW.ParamGroup(g.Select(e => e.Master),
                lr: settings.LearningRate * g.Key.LearningRateScale, beta1: settings.Beta1, beta2: settings.Beta2,
                eps: settings.Epsilon, weight_decay: g.Key.WeightDecay ? settings.WeightDecay : 0)).ToList();
            optimizer = optim.AdamW(adamGroups, settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon);
        }
        else
        {
            throw new ArgumentException($"optim '{settings.Kind}' is not supported; use adamw_torch or sgd.");
        }
        var controllers = optimizer.ParamGroups.ToList();
        for (int i = 0; i < grouped.Count; i++) groups.Add((controllers[i], grouped[i].Key.LearningRateScale));
    }

    public void Step(double learningRateMultiplier)
    {
        foreach (var (group, scale) in groups)
            group.LearningRate = baseRate * scale * learningRateMultiplier;
        optimizer.step();
    }

    public void Save(BinaryWriter writer) => ((OptimizerHelper)optimizer).save_state_dict(writer);

    public void Load(BinaryReader reader) => ((OptimizerHelper)optimizer).load_state_dict(reader);

    public void Dispose() => optimizer.Dispose();
}

/// <summary>The optim spellings HF accepts for AdamW.</summary>
internal static class OptimizerKinds
{
    public static bool IsAdamW(string kind) =>
        kind.ToLowerInvariant() is "adamw_torch" or "adamw_hf" or "adamw" or "adamw_torch_fused" or "adamw_apex_fused";
}
