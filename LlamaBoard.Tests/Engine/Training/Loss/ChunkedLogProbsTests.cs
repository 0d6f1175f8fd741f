using LlamaBoard.Engine.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Loss;

/// <summary>Chunked per-token log-probabilities against libtorch's full log_softmax: values and gradients.</summary>
public class ChunkedLogProbsTests
{
    public ChunkedLogProbsTests() => Torch.EnsureReady();

    [Theory]
    [InlineData(null, 1_000_000L)]  // one chunk
    [InlineData(null, 97L * 4)]     // chunks of 4 tokens over 13: uneven last chunk
    [InlineData(30.0, 97L * 3)]     // soft-capped logits
    public void Values_and_gradients_equal_the_full_log_softmax(double? softcap, long blockElements)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var hidden = randn(13, 24, dtype: ScalarType.Float64);
        var weight = randn(97, 24, dtype: ScalarType.Float64);
        var labels = randint(0, 97, 13, dtype: ScalarType.Int64);
        var upstream = randn(13, dtype: ScalarType.Float64); // per-token weights, as PPO and sequence sums apply them

        var h1 = hidden.detach().requires_grad_(true);
        var w1 = weight.detach().requires_grad_(true);
        var logits = h1.matmul(w1.t());
        if (softcap is { } cap) logits = (logits / cap).tanh() * cap;
        var expected = logits.log_softmax(-1).gather(1, labels.unsqueeze(1)).squeeze(1);
        (expected * upstream).sum().backward();

        var h2 = hidden.detach().requires_grad_(true);
        var w2 = weight.detach().requires_grad_(true);
        var actual = ChunkedLogProbs.PerToken(h2, w2, labels, softcap, blockElements);
        (actual.to_type(ScalarType.Float64) * upstream).sum().backward();

        Assert.True(actual.to_type(ScalarType.Float64).allclose(expected, rtol: 1e-5, atol: 1e-5), "log-probs (fp32 logits)");
        Assert.True(h2.grad!.allclose(h1.grad!, rtol: 1e-4, atol: 1e-5), "hidden gradient");
        Assert.True(w2.grad!.allclose(w1.grad!, rtol: 1e-4, atol: 1e-5), "weight gradient");
    }

    [Fact]
    public void Empty_selection_gives_an_empty_result()
    {
        using var scope = NewDisposeScope();
        var result = ChunkedLogProbs.PerToken(zeros(0, 8), randn(11, 8), zeros(0, dtype: ScalarType.Int64));
        Assert.Equal(0, result.numel());
    }
}
