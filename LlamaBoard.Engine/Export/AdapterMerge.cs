using LlamaBoard.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export;

/// <summary>
/// A projection wrapper that can be folded into one linear layer: an adapter module placed around a projection
/// with <see cref="DecoderModel.ReplaceProjection"/> (LoRA, DoRA).
/// </summary>
public interface IMergeableProjection
{
    /// <summary>The weight (out, in) the wrapper applies in effect, W + ΔW, in fp32.</summary>
    Tensor MergedWeight();

    /// <summary>The wrapped projection's bias (out), unchanged by the adapter, or null.</summary>
    Tensor? MergedBias { get; }
}

/// <summary>
/// Puts one adapter's modules around the projections of <paramref name="model"/>, read from a PEFT adapter folder
/// (the adapter loader does this; the export then merges them).
/// </summary>
public delegate void AdapterLoader(DecoderModel model, string adapterDirectory);

/// <summary>
/// Folds adapter wrappers into the base weights: every projection whose module is an
/// <see cref="IMergeableProjection"/> becomes a plain linear layer with the merged weight, in the model's dtype and
/// on its device. Afterwards the model has exactly the parameters of its config, so it saves as a plain
/// Hugging Face model or GGUF file. Several adapters merge in order by loading and merging one at a time.
/// </summary>
public static class AdapterMerge
{
    /// <summary>Merges every adapter wrapper of <paramref name="model"/>; returns the projections merged.</summary>
    /// <exception cref="InvalidOperationException">A projection is wrapped by a module that cannot be merged.</exception>
    public static IReadOnlyList<string> MergeInto(DecoderModel model)
    {
        var merged = new List<string>();
        using var _ = no_grad();
        foreach (var (name, module) in model.NamedProjections().ToList())
        {
            if (module is Linear) continue;
            if (module is not IMergeableProjection mergeable)
                throw new InvalidOperationException(
                    $"'{name}' is wrapped by {module.GetType().Name}, which cannot be merged into a linear layer.");
            using var scope = NewDisposeScope();
            var weight = mergeable.MergedWeight();                                            // (out, in) fp32
            var bias = mergeable.MergedBias;
            var linear = nn.Linear(
                new Parameter(weight.to(model.DType, model.Device).detach().clone().DetachFromDisposeScope(), requires_grad: false),
                bias is null ? null : new Parameter(bias.to(model.DType, model.Device).detach().clone().DetachFromDisposeScope(), requires_grad: false));
            model.ReplaceProjection(name, linear);
            module.Dispose();
            merged.Add(name);
        }
        return merged;
    }
}
