using LlamaBoard.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// A frozen linear layer whose weight is quantized (4-bit NF4/FP4 or int8): y = x·dequantize(W)ᵀ + b, with W
/// dequantized on the fly in the activations' dtype for each matmul. The quantized tensors are buffers (they never
/// train); the bias, if any, stays a frozen parameter in the compute dtype, as bitsandbytes keeps it.
/// </summary>
/// <remarks>
/// Autograd would keep the dequantized (out, in) matrix of every layer alive until the backward pass, which would
/// give back most of the memory quantization saves. The matmul is therefore a custom autograd function that keeps
/// nothing and dequantizes again in the backward pass to form ∂L/∂x = ∂L/∂y · W (bitsandbytes' MatMul4Bit does the
/// same). The layer is built on its final device: moving or converting it afterwards is refused.
/// </remarks>
public sealed class QuantizedLinear : nn.Module<Tensor, Tensor>, IFrozenProjection, IReplaceableParameters
{
    Parameter? bias;

    /// <summary>Wraps <paramref name="weight"/> (out, in), which it owns from now on, and an optional frozen bias (out).</summary>
    public QuantizedLinear(IQuantizedWeight weight, Parameter? bias) : base(nameof(QuantizedLinear))
    {
        if (weight.Shape.Length != 2) throw new ArgumentException("A quantized linear layer needs an (out, in) weight.", nameof(weight));
        Weight = weight;
        if (bias is not null) bias.requires_grad = false;
        this.bias = bias;
        foreach (var (name, tensor) in weight.Buffers) register_buffer(name, tensor);
        if (bias is not null) register_parameter("bias", bias);
    }

    /// <summary>The quantized weight.</summary>
    public IQuantizedWeight Weight { get; }

    /// <inheritdoc />
    public long InFeatures => Weight.Shape[1];

    /// <inheritdoc />
    public long OutFeatures => Weight.Shape[0];

    /// <inheritdoc />
    public Tensor? Bias => bias;

    /// <inheritdoc />
    public Device Device => Weight.Buffers[0].Tensor.device;

    /// <inheritdoc />
    public Tensor DenseWeight() => Weight.Dequantize(ScalarType.Float32);

    /// <summary>x (…, in) → (…, out) in x's dtype.</summary>
    public override Tensor forward(Tensor x)
    {
        Tensor output;
        if (is_grad_enabled() && x.requires_grad)
        {
            output = DequantizingMatmul.apply(this, x);
        }
        else
        {
            using var weight = Weight.Dequantize(x.dtype);                                      // (out, in)
            output = nn.functional.linear(x, weight);
        }
        return bias is null ? output : output + bias;
    }

    /// <inheritdoc />
    public void ReplaceParameter(string localName, Parameter replacement)
    {
        if (localName != "bias" || bias is null)
            throw new ArgumentException($"QuantizedLinear cannot replace '{localName}': its weight is quantized and stays as it is.", nameof(localName));
        var old = bias;
        replacement.requires_grad = false;
        bias = replacement;
        register_parameter("bias", replacement);
        if (!ReferenceEquals(old, replacement)) old.Dispose();
    }

    /// <inheritdoc />
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => throw NotMovable();

    /// <inheritdoc />
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) => throw NotMovable();

    /// <inheritdoc />
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => throw NotMovable();

    static NotSupportedException NotMovable() =>
        new("A quantized layer is made on its device while loading and cannot be moved or converted; load the model with quantization_bit on the device and compute dtype you need.");

    /// <summary>x·Wᵀ that keeps only a reference to the layer, not the dequantized W, for the backward pass.</summary>
    sealed class DequantizingMatmul : autograd.SingleTensorFunction<DequantizingMatmul>
    {
        public override string Name => "DequantizingMatmul";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var layer = (QuantizedLinear)vars[0];
            var x = (Tensor)vars[1];
            ctx.save_data("layer", layer);
            using var weight = layer.Weight.Dequantize(x.dtype);                                // (out, in)
            return nn.functional.linear(x, weight);                                             // (…, out)
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var layer = (QuantizedLinear)ctx.get_data("layer");
            using var weight = layer.Weight.Dequantize(gradOutput.dtype);                       // (out, in)
            return [null!, gradOutput.matmul(weight)];                                          // (…, in)
        }
    }
}
