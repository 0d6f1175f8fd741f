using LlamaBoard.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Adapters;

/// <summary>LoRA and DoRA layers: initial identity, the update formula, merging, the disable switch.</summary>
public class LoraLinearTests
{
    public LoraLinearTests() => Torch.EnsureReady();

    static LoraLinear Make(LoraSettings settings, bool withBias = true, ScalarType dtype = ScalarType.Float32)
    {
        manual_seed(17);
        var weight = randn(12, 10).to_type(dtype);
        var bias = withBias ? randn(12).to_type(dtype) : null;
        return new LoraLinear(weight, bias, settings);
    }

    [Fact]
    public void Starts_as_the_base_layer_and_names_match_peft()
    {
        using var scope = NewDisposeScope();
        var layer = Make(new LoraSettings(4, 8));
        var x = randn(3, 10);
        var expected = nn.functional.linear(x, layer.BaseWeight, layer.BaseBias);
        Assert.True(layer.forward(x).allclose(expected));
        Assert.Equal(["bias", "lora_A.weight", "lora_B.weight", "weight"], layer.state_dict().Keys.Order());
        Assert.Equal([false, false, true, true], layer.named_parameters().Select(p => p.parameter.requires_grad).ToArray());
    }

    [Fact]
    public void Update_is_scaled_b_times_a_and_merging_reproduces_the_forward()
    {
        using var scope = NewDisposeScope();
        foreach (var rslora in new[] { false, true })
        {
            var layer = Make(new LoraSettings(4, 8, UseRsLora: rslora));
            using (no_grad()) layer.LoraB.normal_();
            var x = randn(5, 10);
            double scaling = rslora ? 8 / 2.0 : 8 / 4.0;
            Assert.Equal(scaling, layer.Settings.Scaling);
            var expected = nn.functional.linear(x, layer.BaseWeight, layer.BaseBias) + x.matmul(layer.LoraA.t()).matmul(layer.LoraB.t()) * scaling;
            Assert.True(layer.forward(x).allclose(expected, rtol: 1e-5, atol: 1e-5));
            Assert.True(nn.functional.linear(x, layer.MergedWeight(), layer.BaseBias).allclose(expected, rtol: 1e-5, atol: 1e-4));
        }
    }

    [Fact]
    public void Dora_starts_at_the_base_and_merges_to_the_renormalised_weight()
    {
        using var scope = NewDisposeScope();
        var layer = Make(new LoraSettings(4, 8, UseDora: true));
        var x = randn(5, 10);
        var baseOut = nn.functional.linear(x, layer.BaseWeight, layer.BaseBias);
        Assert.True(layer.forward(x).allclose(baseOut, rtol: 1e-5, atol: 1e-5));
        Assert.Contains("lora_magnitude_vector.weight", layer.state_dict().Keys);
        // Magnitude starts at the row norms of W.
        Assert.True(layer.Magnitude!.allclose(layer.BaseWeight.norm(1, keepdim: false)));

        using (no_grad())
        {
            layer.LoraB.normal_();
            layer.Magnitude!.mul_(1.5);
        }
        // DoRA written out: m ⊙ (W + sBA) / ‖W + sBA‖ per row, plus bias.
        var adapted = layer.BaseWeight + layer.LoraB.matmul(layer.LoraA) * 2.0;
        var expectedWeight = adapted * (layer.Magnitude!.detach() / adapted.norm(1, keepdim: false)).unsqueeze(1);
        var expected = nn.functional.linear(x, expectedWeight, layer.BaseBias);
        Assert.True(layer.forward(x).allclose(expected, rtol: 1e-4, atol: 1e-4));
        Assert.True(layer.MergedWeight().allclose(expectedWeight, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Disabled_layer_is_exactly_the_base_layer()
    {
        using var scope = NewDisposeScope();
        var layer = Make(new LoraSettings(2, 4));
        using (no_grad()) layer.LoraB.normal_();
        var x = randn(2, 10);
        layer.Enabled = false;
        Assert.True(layer.forward(x).allclose(nn.functional.linear(x, layer.BaseWeight, layer.BaseBias), rtol: 0, atol: 0));
        layer.Enabled = true;
        Assert.False(layer.forward(x).allclose(nn.functional.linear(x, layer.BaseWeight, layer.BaseBias), rtol: 0, atol: 0));
    }

    [Fact]
    public void Bf16_base_keeps_its_dtype_and_only_the_adapter_gets_gradients()
    {
        using var scope = NewDisposeScope();
        var layer = Make(new LoraSettings(4, 8, Dropout: 0.5), dtype: ScalarType.BFloat16);
        layer.train();
        using (no_grad()) layer.LoraB.normal_();
        var x = randn(6, 10).to_type(ScalarType.BFloat16);
        var y = layer.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        y.to_type(ScalarType.Float32).sum().backward();
        Assert.Null(layer.BaseWeight.grad);
        Assert.Equal(ScalarType.Float32, layer.LoraA.grad!.dtype);
        Assert.True(layer.LoraA.grad!.abs().sum().item<float>() > 0);
    }
}
