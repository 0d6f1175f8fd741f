using LlamaBoard.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// Puts LoRA layers into a <see cref="DecoderModel"/> and takes them out again. The wrapped projections keep
/// their HF names, so a model with adapters has the PEFT parameter names (…q_proj.lora_A.weight).
/// </summary>
public static class LoraAdapter
{
    /// <summary>
    /// Wraps each projection in <paramref name="projections"/> (HF names) with a fresh <see cref="LoraLinear"/>.
    /// Projections that already carry an adapter are merged first, so adapters stack as PEFT merges them.
    /// </summary>
    public static IReadOnlyList<LoraLinear> Attach(DecoderModel model, LoraSettings settings, IReadOnlyList<string> projections)
    {
        var attached = new List<LoraLinear>(projections.Count);
        foreach (string name in projections)
        {
            var current = model.GetProjection(name);
            if (current is LoraLinear existing)
            {
                Merge(model, name, existing);
                current = model.GetProjection(name);
            }
            var lora = current switch
            {
                Linear linear => new LoraLinear(linear.weight!, linear.bias, settings),
                IFrozenProjection => new LoraLinear(current, settings),
                _ => throw new NotSupportedException($"{name} is a {current.GetType().Name}; LoRA wraps linear layers and frozen (quantized) projections."),
            };
            model.ReplaceProjection(name, lora);
            attached.Add(lora);
        }
        return attached;
    }

    /// <summary>Every LoRA layer of <paramref name="model"/> with its HF projection name.</summary>
    public static IEnumerable<(string Name, LoraLinear Layer)> Layers(DecoderModel model) =>
        model.NamedProjections().Where(p => p.Module is LoraLinear).Select(p => (p.Name, (LoraLinear)p.Module));

    /// <summary>Turns every adapter on or off (off = the base model, used as a preference stage's reference).</summary>
    public static void SetEnabled(DecoderModel model, bool enabled)
    {
        foreach (var (_, layer) in Layers(model)) layer.Enabled = enabled;
    }

    /// <summary>
    /// Scope in which every adapter is off: <c>using (LoraAdapter.Disabled(model)) { reference forward }</c>.
    /// </summary>
    public static IDisposable Disabled(DecoderModel model)
    {
        var layers = Layers(model).Select(l => l.Layer).Where(l => l.Enabled).ToList();
        foreach (var layer in layers) layer.Enabled = false;
        return new Restore(() => { foreach (var layer in layers) layer.Enabled = true; });
    }

    /// <summary>Folds every adapter into its base weight (W ← W + ΔW, DoRA renormalised) and removes the LoRA layers.</summary>
    public static void MergeAll(DecoderModel model)
    {
        foreach (var (name, layer) in Layers(model).ToList()) Merge(model, name, layer);
    }

    static void Merge(DecoderModel model, string name, LoraLinear layer)
    {
        if (layer.BaseLayer is not null)
            throw new NotSupportedException(
                $"Cannot merge the adapter of {name} into a quantized base ({layer.BaseLayer.GetType().Name}); merge adapters into the " +
                "unquantized model instead (load it without quantization_bit).");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var dtype = layer.BaseWeight.dtype;
        var merged = new Parameter(layer.MergedWeight().to_type(dtype).MoveToOuterDisposeScope(), requires_grad: false);
        var bias = layer.BaseBias is null ? null : new Parameter(layer.BaseBias.detach().clone().MoveToOuterDisposeScope(), requires_grad: false);
        model.ReplaceProjection(name, nn.Linear(merged, bias));
        layer.Dispose();
    }

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
