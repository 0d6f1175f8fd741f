using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// A linear layer with a LoRA (or DoRA) update: y = x·Wᵀ + b + scaling·B(A(dropout(x))).
/// </summary>
/// <remarks>
/// Names follow HF and PEFT so that state dicts map one to one: the frozen base keeps <c>weight</c>/<c>bias</c>
/// (the HF names, so the base checkpoint still loads into it), the adapter is <c>lora_A.weight</c> (r, in),
/// <c>lora_B.weight</c> (out, r) and, for DoRA, <c>lora_magnitude_vector.weight</c> (out). The adapter runs in fp32
/// (its weights are the trainable fp32 masters) while the base runs in the compute dtype; the input is cast up for
/// the adapter path and the result cast back. <see cref="Enabled"/> switches the adapter off so that a preference
/// recipe can use the same model, adapter disabled, as its frozen reference (no second copy in memory).
/// Dropout masks come from the CPU generator, so activation checkpointing can replay them exactly on any device.
/// The frozen base may also be a module (a quantized projection, QLoRA): it is then registered as <c>base_layer</c>,
/// PEFT's name for the wrapped layer, and asked for its weight densely where DoRA or merging needs the matrix.
/// </remarks>
public sealed class LoraLinear : Module<Tensor, Tensor>, IReplaceableParameters
{
    Parameter? weight;
    Parameter? bias;
    readonly Linear lora_A;
    readonly Linear lora_B;
    readonly DoraMagnitude? lora_magnitude_vector;
    readonly nn.Module<Tensor, Tensor>? base_layer;

    /// <summary>Wraps the base layer's weight (out, in) and optional bias, which stay frozen.</summary>
    public LoraLinear(Tensor baseWeight, Tensor? baseBias, LoraSettings settings)
        : this(baseWeight.shape[1], baseWeight.shape[0], baseWeight.device, settings)
    {
        // A TorchSharp Parameter takes over the tensor it is built from, so reuse the base layer's own Parameters.
        weight = AsFrozenParameter(baseWeight);
        bias = baseBias is null ? null : AsFrozenParameter(baseBias);
        if (settings.UseDora)
            using (no_grad()) lora_magnitude_vector = new DoraMagnitude(RowNorms(weight, null));
        RegisterComponents();
    }

    /// <summary>
    /// Wraps a frozen base module that is not a plain linear layer (a quantized projection): it must implement
    /// <see cref="IFrozenProjection"/>. Its own parameters and buffers appear under <c>base_layer</c>.
    /// </summary>
    public LoraLinear(nn.Module<Tensor, Tensor> baseLayer, LoraSettings settings)
        : this(AsFrozen(baseLayer).InFeatures, AsFrozen(baseLayer).OutFeatures, AsFrozen(baseLayer).Device, settings)
    {
        base_layer = baseLayer;
        if (settings.UseDora)
            using (no_grad())
            using (var dense = FrozenBase!.DenseWeight())
            using (var norms = RowNorms(dense, null))
                lora_magnitude_vector = new DoraMagnitude(norms);
        RegisterComponents();
    }

    LoraLinear(long inFeatures, long outFeatures, Device device, LoraSettings settings) : base(nameof(LoraLinear))
    {
        if (settings.Rank <= 0) throw new ArgumentOutOfRangeException(nameof(settings), "LoRA rank must be positive.");
        Settings = settings;
        // PEFT's default initialisation: A as nn.Linear (Kaiming-uniform, a = √5), B = 0, so training starts at W.
        lora_A = nn.Linear(inFeatures, settings.Rank, hasBias: false, device: device, dtype: ScalarType.Float32);
        lora_B = nn.Linear(settings.Rank, outFeatures, hasBias: false, device: device, dtype: ScalarType.Float32);
        using (no_grad()) lora_B.weight!.zero_();
    }

    /// <summary>The base module as a frozen projection (a property, not a field: RegisterComponents would register a field).</summary>
    IFrozenProjection? FrozenBase => base_layer as IFrozenProjection;

    static IFrozenProjection AsFrozen(nn.Module<Tensor, Tensor> baseLayer) =>
        baseLayer as IFrozenProjection ?? throw new ArgumentException(
            $"LoRA wraps linear layers or frozen projections; {baseLayer.GetType().Name} is neither.", nameof(baseLayer));

    /// <summary>The adapter's hyper-parameters.</summary>
    public LoraSettings Settings { get; }

    /// <summary>False turns the layer into its base linear layer (used as the reference model by preference stages).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The frozen base weight (out, in) in the compute dtype (plain linear bases only).</summary>
    /// <exception cref="InvalidOperationException">The base is a module (quantized); use <see cref="MergedWeight"/> or the module.</exception>
    public Parameter BaseWeight => weight ?? throw new InvalidOperationException(
        "This LoRA layer wraps a frozen module (a quantized projection), not a weight parameter.");

    /// <summary>The frozen base bias (out), if any.</summary>
    public Tensor? BaseBias => FrozenBase is null ? bias : FrozenBase!.Bias;

    /// <summary>The frozen base module (PEFT's base_layer) when it is not a plain weight, for example a quantized projection.</summary>
    public nn.Module<Tensor, Tensor>? BaseLayer => base_layer;

    /// <summary>A: (r, in).</summary>
    public Parameter LoraA => lora_A.weight!;

    /// <summary>B: (out, r).</summary>
    public Parameter LoraB => lora_B.weight!;

    /// <summary>DoRA's magnitude (out), or null for plain LoRA.</summary>
    public Parameter? Magnitude => lora_magnitude_vector?.Weight;

    /// <summary>The adapter's trainable parameters, A and B first, then DoRA's magnitude.</summary>
    public IEnumerable<Parameter> AdapterParameters() =>
        Magnitude is { } m ? [LoraA, LoraB, m] : [LoraA, LoraB];

    public override Tensor forward(Tensor x)
    {
        // x: (…, in) in the compute dtype; result (…, out) in the same dtype.
        var baseOut = base_layer is null ? nn.functional.linear(x, weight!, bias) : base_layer.call(x);
        if (!Enabled) return baseOut;

        var adapterIn = x.to_type(ScalarType.Float32);
        if (training && Settings.Dropout > 0) adapterIn = DropoutFromCpuGenerator(adapterIn, Settings.Dropout);
        var update = lora_B.forward(lora_A.forward(adapterIn)) * Settings.Scaling;   // (…, out) fp32
        if (lora_magnitude_vector is null)
            return baseOut + update.to_type(baseOut.dtype);

        // DoRA: result = m/‖W + s·BA‖ ⊙ (W·x + s·BA·x) + b; the norm is treated as a constant (DoRA §4.3).
        var norms = RowNorms(weight ?? FrozenBase!.DenseWeight(), DeltaWeight()).detach(); // (out)
        var scale = lora_magnitude_vector.Weight / norms;                               // (out)
        var baseNoBias = BaseBias is not { } b ? baseOut : baseOut - b;
        var dora = (scale - 1) * baseNoBias.to_type(ScalarType.Float32) + scale * update;
        return baseOut + dora.to_type(baseOut.dtype);
    }

    /// <inheritdoc />
    public void ReplaceParameter(string localName, Parameter replacement)
    {
        // Only the frozen base is ever converted (to the compute dtype); the adapter stays fp32. A base module owns
        // its own parameters and is reached as a submodule.
        if (base_layer is not null)
            throw new ArgumentException($"LoraLinear cannot replace '{localName}': the base is the module base_layer.", nameof(localName));
        var old = localName switch
        {
            "weight" => weight,
            "bias" => bias,
            _ => throw new ArgumentException($"LoraLinear cannot replace '{localName}'.", nameof(localName)),
        };
        if (localName == "weight") weight = replacement;
        else bias = replacement;
        ConditionallyRegisterParameter(localName, replacement);
        if (old is not null && !ReferenceEquals(old, replacement)) old.Dispose();
    }

    /// <summary>
    /// PiSSA initialisation: A and B take the principal r singular directions of W (A = √S·Vᵀ, B = U·√S, both
    /// divided by √scaling), and W keeps the residual W − scaling·B·A, so the layer's output is unchanged at start.
    /// </summary>
    /// <param name="iterations">Power iterations of a randomised SVD (PEFT's pissa_niter_N); 0 or less = exact SVD.</param>
    /// <param name="seed">Seed of the randomised SVD's test matrix.</param>
    public void InitializePissa(int iterations, long seed)
    {
        if (Settings.UseDora) throw new NotSupportedException("PiSSA initialisation cannot be combined with DoRA.");
        if (weight is null) throw new NotSupportedException("PiSSA initialisation needs the unquantized base weight; initialise PiSSA without quantization_bit.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = weight.to_type(ScalarType.Float32);                                   // (out, in)
        int r = Settings.Rank;
        Tensor u, s, vh;
        if (iterations <= 0)
        {
            var (uFull, sFull, vhFull) = linalg.svd(w, fullMatrices: false);
            (u, s, vh) = (uFull.narrow(1, 0, r), sFull.narrow(0, 0, r), vhFull.narrow(0, 0, r));
        }
        else
        {
            (u, s, vh) = RandomizedSvd(w, r, iterations, seed);
        }
        var root = (s / Settings.Scaling).sqrt();                                      // (r)
        var a = root.unsqueeze(1) * vh;                                                // (r, in)
        var b = u * root.unsqueeze(0);                                                 // (out, r)
        lora_A.weight!.copy_(a);
        lora_B.weight!.copy_(b);
        weight.copy_((w - b.matmul(a) * Settings.Scaling).to_type(weight.dtype));
    }

    /// <summary>
    /// Rank-r SVD by randomised range finding with power iterations (Halko et al.; what torch.svd_lowrank does):
    /// Q spans W·Ω, refined by iterating through Wᵀ and W, then the small matrix QᵀW is decomposed exactly.
    /// </summary>
    static (Tensor U, Tensor S, Tensor Vh) RandomizedSvd(Tensor w, int rank, int iterations, long seed)
    {
        var generator = new Generator((ulong)seed, w.device);
        var omega = randn(w.shape[1], rank, dtype: w.dtype, device: w.device, generator: generator); // (in, r)
        var q = linalg.qr(w.matmul(omega)).Q;                                          // (out, r)
        for (int i = 0; i < iterations; i++)
        {
            var z = linalg.qr(w.t().matmul(q)).Q;                                      // (in, r)
            q = linalg.qr(w.matmul(z)).Q;                                              // (out, r)
        }
        var (ub, s, vh) = linalg.svd(q.t().matmul(w), fullMatrices: false);            // (r, r), (r), (r, in)
        return (q.matmul(ub), s, vh);
    }

    /// <summary>scaling · B·A, the update to W, in fp32: (out, in).</summary>
    public Tensor DeltaWeight() => lora_B.weight!.matmul(lora_A.weight!) * Settings.Scaling;

    /// <summary>The weight this layer applies, W + ΔW (DoRA: re-normalised row-wise), in fp32: (out, in).</summary>
    public Tensor MergedWeight()
    {
        using var scope = NewDisposeScope();
        var merged = (weight?.to_type(ScalarType.Float32) ?? FrozenBase!.DenseWeight()) + DeltaWeight();
        if (lora_magnitude_vector is not null)
            merged = merged * (lora_magnitude_vector.Weight / merged.norm(1, keepdim: false)).unsqueeze(1);
        return merged.MoveToOuterDisposeScope();
    }

    static Parameter AsFrozenParameter(Tensor tensor)
    {
        if (tensor is Parameter parameter)
        {
            parameter.requires_grad = false;
            return parameter;
        }
        return new Parameter(tensor, requires_grad: false);
    }

    static Tensor RowNorms(Tensor baseWeight, Tensor? delta)
    {
        var w = baseWeight.to_type(ScalarType.Float32);
        if (delta is not null) w = w + delta;
        return w.norm(1, keepdim: false); // ‖row‖₂ per output feature: (out)
    }

    static Tensor DropoutFromCpuGenerator(Tensor x, double p)
    {
        var keep = rand(x.shape, dtype: ScalarType.Float32).ge(p).to(x.device);
        return x * keep / (1 - p);
    }

    /// <summary>DoRA's magnitude vector, a module so its state-dict key is PEFT's <c>lora_magnitude_vector.weight</c>.</summary>
    sealed class DoraMagnitude : Module
    {
        readonly Parameter weight;

        public DoraMagnitude(Tensor initial) : base("lora_magnitude_vector")
        {
            weight = new Parameter(initial.detach().clone(), requires_grad: true);
            RegisterComponents();
        }

        public Parameter Weight => weight;
    }
}
