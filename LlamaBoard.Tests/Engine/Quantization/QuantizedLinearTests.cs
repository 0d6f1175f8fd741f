using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>The quantized projection: forward and backward against a dense linear layer, and LoRA on top of it.</summary>
public class QuantizedLinearTests
{
    public QuantizedLinearTests() => Torch.EnsureReady();

    static QuantizedLinear Layer(long outFeatures, long inFeatures, bool bias, QuantizationSettings settings)
    {
        var weight = randn(outFeatures, inFeatures) * 0.05;
        var b = bias ? new Parameter(randn(outFeatures) * 0.1, requires_grad: false) : null;
        return new QuantizedLinear(settings.Quantize(weight), b);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Forward_and_input_gradient_equal_a_linear_layer_with_the_dequantized_weight(int bits)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var layer = Layer(48, 64, bias: true, new QuantizationSettings(bits));
        var dense = layer.DenseWeight();                                                      // (48, 64)
        var x = randn(3, 5, 64, requires_grad: true);
        var y = layer.forward(x);
        var expected = nn.functional.linear(x, dense, layer.Bias);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-5));
        var upstream = randn(3, 5, 48);
        var gradX = autograd.grad([y], [x], [upstream])[0];
        var expectedGrad = autograd.grad([expected], [x], [upstream])[0];
        Assert.True(gradX.allclose(expectedGrad, rtol: 1e-5, atol: 1e-5));
        Assert.DoesNotContain(layer.parameters(), p => p.requires_grad);
        Assert.Contains(layer.named_buffers(), b => b.name == "weight" && b.buffer.dtype == (bits == 4 ? ScalarType.Byte : ScalarType.Int8));
    }

    [Fact]
    public void Bf16_activations_get_a_bf16_weight()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        using var layer = Layer(32, 64, bias: false, new QuantizationSettings(4));
        var x = randn(2, 64).to_type(ScalarType.BFloat16);
        var y = layer.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        var expected = nn.functional.linear(x, layer.DenseWeight().to_type(ScalarType.BFloat16));
        Assert.True(y.to_type(ScalarType.Float32).allclose(expected.to_type(ScalarType.Float32), rtol: 1e-2, atol: 1e-2));
    }

    [Fact]
    public void Moving_a_quantized_layer_is_refused_with_a_reason()
    {
        using var layer = Layer(8, 64, bias: false, new QuantizationSettings(4));
        var e = Assert.Throws<NotSupportedException>(() => layer.to(ScalarType.Float16));
        Assert.Contains("quantization_bit", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lora_wraps_a_quantized_base_and_trains_only_the_adapter(bool dora)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var quantized = Layer(40, 64, bias: true, new QuantizationSettings(4, FourBitFormat.Nf4, true));
        using var lora = new LoraLinear(quantized, new LoraSettings(4, 8, UseDora: dora));
        using (no_grad()) lora.LoraB.normal_(0, 0.1);
        var names = lora.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal).ToList();
        // PEFT's names: the wrapped layer's own parameters under base_layer, each exactly once.
        Assert.Equal(dora ? ["base_layer.bias", "lora_A.weight", "lora_B.weight", "lora_magnitude_vector.weight"]
                          : ["base_layer.bias", "lora_A.weight", "lora_B.weight"], names);
        Assert.Contains(lora.named_buffers(), b => b.name == "base_layer.weight");

        var x = randn(6, 64);
        var dense = quantized.DenseWeight();
        var reference = new LoraLinear(dense.clone(), quantized.Bias!.clone(), new LoraSettings(4, 8, UseDora: dora));
        using (no_grad())
        {
            reference.LoraA.copy_(lora.LoraA);
            reference.LoraB.copy_(lora.LoraB);
            if (dora) reference.Magnitude!.copy_(lora.Magnitude!);
        }
        Assert.True(lora.forward(x).allclose(reference.forward(x), rtol: 1e-5, atol: 1e-5));
        Assert.True(nn.functional.linear(x, lora.MergedWeight(), lora.BaseBias).allclose(reference.forward(x), rtol: 1e-4, atol: 1e-4));

        lora.forward(x).pow(2).sum().backward();
        Assert.NotNull(lora.LoraA.grad);
        Assert.Null(quantized.Bias!.grad);
        Assert.Throws<NotSupportedException>(() => lora.InitializePissa(0, 1));
    }
}
