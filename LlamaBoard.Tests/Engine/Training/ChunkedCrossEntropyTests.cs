using LlamaBoard.Engine.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>The chunked LM loss against libtorch's own full-logit cross-entropy: values and gradients.</summary>
public class ChunkedCrossEntropyTests
{
    public ChunkedCrossEntropyTests() => Torch.EnsureReady();

    static (Tensor Loss, Tensor HiddenGrad, Tensor WeightGrad) Reference(Tensor hidden, Tensor weight, Tensor labels, double? softcap)
    {
        var h = hidden.detach().requires_grad_(true);
        var w = weight.detach().requires_grad_(true);
        var logits = h.matmul(w.t()).to_type(ScalarType.Float32);
        if (softcap is { } cap) logits = (logits / cap).tanh() * cap;
        var loss = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum);
        loss.backward();
        return (loss.detach(), h.grad!.clone(), w.grad!.clone());
    }

    [Theory]
    [InlineData(null, 1_000_000L)]  // one chunk
    [InlineData(null, 97L * 4)]     // chunks of 4 tokens over 13: uneven last chunk
    [InlineData(30.0, 97L * 3)]     // Gemma 2's final-logit soft-capping
    public void Loss_and_gradients_equal_the_full_logit_computation(double? softcap, long blockElements)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var hidden = randn(13, 24, dtype: ScalarType.Float64);
        var weight = randn(97, 24, dtype: ScalarType.Float64);
        var labels = randint(0, 97, 13, dtype: ScalarType.Int64);
        var (refLoss, refHidden, refWeight) = Reference(hidden, weight, labels, softcap);

        var h = hidden.detach().requires_grad_(true);
        var w = weight.detach().requires_grad_(true);
        var loss = ChunkedCrossEntropy.Sum(h, w, labels, softcap, blockElements);
        loss.backward();

        double expected = refLoss.to_type(ScalarType.Float64).item<double>();
        Assert.Equal(expected, loss.to_type(ScalarType.Float64).item<double>(), expected * 1e-6); // fp32 logits
        Assert.True(h.grad!.allclose(refHidden, rtol: 1e-4, atol: 1e-5), "hidden gradient");
        Assert.True(w.grad!.allclose(refWeight, rtol: 1e-4, atol: 1e-5), "weight gradient");
    }

    [Fact]
    public void Frozen_head_gets_no_gradient_and_bf16_hidden_states_work()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var hidden = randn(9, 16).to_type(ScalarType.BFloat16).requires_grad_(true);
        var weight = randn(50, 16).to_type(ScalarType.BFloat16);
        var labels = randint(0, 50, 9, dtype: ScalarType.Int64);
        var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, blockElements: 50 * 2);
        loss.backward();
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(ScalarType.BFloat16, hidden.grad!.dtype);
        Assert.Null(weight.grad);
        var reference = nn.functional.cross_entropy(hidden.detach().matmul(weight.t()).to_type(ScalarType.Float32), labels, reduction: nn.Reduction.Sum);
        Assert.Equal(reference.item<float>(), loss.item<float>(), 2);
    }

    [Fact]
    public void Mismatched_shapes_are_reported()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => ChunkedCrossEntropy.Sum(zeros(3, 4), zeros(10, 5), zeros(3, dtype: ScalarType.Int64)));
        Assert.Contains("hidden (3, 4)", error.Message);
    }
}
