using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlamaBoard.Engine.Inference;

/// <summary>
/// Which adapter the <see cref="MultiLoraLinear"/> layers of one model apply: one object shared by every layer, so
/// choosing an adapter for a request is a single write. <see cref="Active"/> is −1 for the base model.
/// </summary>
public sealed class AdapterSelection
{
    /// <summary>Index of the adapter in use, or −1 for none (the base model).</summary>
    public int Active { get; set; } = -1;
}

/// <summary>The low-rank update of one adapter in one layer: ΔW = scaling·B·A, in fp32 (as trained).</summary>
/// <param name="A">(r, in).</param>
/// <param name="B">(out, r).</param>
/// <param name="Scaling">alpha / r (alpha / √r with rsLoRA).</param>
/// <param name="DoraScale">DoRA only: m / ‖W + ΔW‖ per output row (out), computed once since serving never changes W.</param>
public sealed record LoraUpdate(Tensor A, Tensor B, double Scaling, Tensor? DoraScale) : IDisposable
{
    /// <summary>Bytes of the adapter's tensors in this layer.</summary>
    public long Bytes => A.NumberOfElements * A.ElementSize + B.NumberOfElements * B.ElementSize
                         + (DoraScale is null ? 0 : DoraScale.NumberOfElements * DoraScale.ElementSize);

    /// <inheritdoc />
    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
        DoraScale?.Dispose();
    }
}

/// <summary>
/// A frozen linear layer with any number of LoRA (or DoRA) adapters beside it, of which at most one — the one
/// <see cref="AdapterSelection.Active"/> names — takes part in a forward pass:
/// <code>
///   y = x·Wᵀ + b                                   no adapter active
///   y = x·Wᵀ + b + s·B(A(x))                        LoRA
///   y = x·Wᵀ + b + (d − 1)⊙(x·Wᵀ) + d⊙s·B(A(x))     DoRA, d = m / ‖W + s·BA‖ per output row
/// </code>
/// The base weight is the model's own Parameter (kept under its HF name, never copied), so every adapter shares
/// one base in memory. The update runs in fp32, as <see cref="Adapters.LoraLinear"/> does, so an adapter served here
/// gives what the same adapter loaded alone gives.
/// </summary>
public sealed class MultiLoraLinear : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly AdapterSelection selection;
    readonly Dictionary<int, LoraUpdate> updates = [];

    /// <summary>Wraps a frozen base layer's weight (out, in) and bias; <paramref name="selection"/> is shared by the model's layers.</summary>
    public MultiLoraLinear(Parameter baseWeight, Parameter? baseBias, AdapterSelection selection) : base(nameof(MultiLoraLinear))
    {
        weight = baseWeight;
        bias = baseBias;
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
        this.selection = selection;
        RegisterComponents();
    }

    /// <summary>The frozen base weight (out, in).</summary>
    public Parameter BaseWeight => weight;

    /// <summary>The frozen base bias (out), if any.</summary>
    public Parameter? BaseBias => bias;

    /// <summary>Adapter indexes this layer holds an update for.</summary>
    public IReadOnlyCollection<int> AdapterIndexes => updates.Keys;

    /// <summary>Adds the update of adapter <paramref name="index"/> (the layer owns it from now on).</summary>
    public void Add(int index, LoraUpdate update)
    {
        if (!updates.TryAdd(index, update))
            throw new InvalidOperationException($"This layer already holds adapter #{index}.");
    }

    /// <summary>The update of adapter <paramref name="index"/>, if this layer has one.</summary>
    public LoraUpdate? Update(int index) => updates.GetValueOrDefault(index);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // x: (…, in) in the compute dtype → (…, out) in the same dtype.
        var baseOut = functional.linear(x, weight, bias);
        if (selection.Active < 0 || !updates.TryGetValue(selection.Active, out var adapter)) return baseOut;
        using var scope = NewDisposeScope();
        var adapterIn = x.to_type(ScalarType.Float32);
        var update = functional.linear(functional.linear(adapterIn, adapter.A), adapter.B) * adapter.Scaling; // (…, out) fp32
        if (adapter.DoraScale is not { } scale)
            return (baseOut + update.to_type(baseOut.dtype)).MoveToOuterDisposeScope();
        var baseNoBias = bias is null ? baseOut : baseOut - bias;
        var dora = (scale - 1) * baseNoBias.to_type(ScalarType.Float32) + scale * update;
        return (baseOut + dora.to_type(baseOut.dtype)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var update in updates.Values) update.Dispose();
        updates.Clear();
        base.Dispose(disposing);
    }
}
