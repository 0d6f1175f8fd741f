using LlamaBoard.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>Checkpointed blocks give the same values and gradients as plain autograd, dropout included.</summary>
public class ActivationCheckpointTests
{
    public ActivationCheckpointTests() => Torch.EnsureReady();

    [Fact]
    public void Gradients_match_plain_autograd_including_dropout_masks()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var w1 = randn(8, 8).requires_grad_(true);
        var w2 = randn(8, 8).requires_grad_(true);
        var frozen = randn(8);
        var x0 = randn(4, 8);
        // A block with a random dropout mask drawn from the CPU generator.
        Tensor Block(Tensor x)
        {
            var h = nn.functional.silu(x.matmul(w1)) + frozen;
            var keep = rand(h.shape).ge(0.3);
            return (h * keep / 0.7).matmul(w2);
        }

        manual_seed(99);
        var xPlain = x0.clone().requires_grad_(true);
        var plain = Block(xPlain);
        plain.square().sum().backward();
        var (gx, g1, g2) = (xPlain.grad!.clone(), w1.grad!.clone(), w2.grad!.clone());
        w1.grad!.zero_();
        w2.grad!.zero_();

        manual_seed(99);
        var xCkpt = x0.clone().requires_grad_(true);
        var checkpointed = ActivationCheckpoint.Run(Block, xCkpt, [w1, w2]);
        Assert.True(checkpointed.requires_grad);
        checkpointed.square().sum().backward();

        Assert.True(checkpointed.allclose(plain));
        Assert.True(xCkpt.grad!.allclose(gx, rtol: 1e-5, atol: 1e-6));
        Assert.True(w1.grad!.allclose(g1, rtol: 1e-5, atol: 1e-6));
        Assert.True(w2.grad!.allclose(g2, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Without_grad_the_block_just_runs()
    {
        using var scope = NewDisposeScope();
        var w = ones(3, 3).requires_grad_(true);
        using (no_grad())
        {
            var y = ActivationCheckpoint.Run(x => x.matmul(w), ones(2, 3), [w]);
            Assert.False(y.requires_grad);
            Assert.Equal(3f, y[0, 0].item<float>());
        }
    }

    [Fact]
    public void Stacked_checkpointed_blocks_backpropagate_through_each_other()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var ws = Enumerable.Range(0, 3).Select(_ => (randn(6, 6) * 0.5).requires_grad_(true)).ToArray();
        var x = randn(5, 6);

        var plain = ws.Aggregate(x, (h, w) => h + h.matmul(w).tanh());
        plain.sum().backward();
        var expected = ws.Select(w => w.grad!.clone()).ToArray();
        foreach (var w in ws) w.grad!.zero_();

        var h = x;
        foreach (var w in ws) h = ActivationCheckpoint.Run(input => input + input.matmul(w).tanh(), h, [w]);
        h.sum().backward();
        for (int i = 0; i < ws.Length; i++)
            Assert.True(ws[i].grad!.allclose(expected[i], rtol: 1e-5, atol: 1e-6), $"layer {i}");
    }
}
