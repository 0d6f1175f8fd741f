using LlamaBoard.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Runtime;

/// <summary>The real native runtime: ops, autograd and attention run in libtorch, not in managed code.</summary>
public class NativeRuntimeTests
{
    public NativeRuntimeTests() => Torch.EnsureReady();

    [Fact]
    public void Matmul_gives_the_known_product()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, a.matmul(b).data<float>().ToArray());
    }

    [Fact]
    public void Backward_gives_the_analytic_gradient()
    {
        using var scope = NewDisposeScope();
        // d/dx sum(x^3) = 3x^2
        var x = tensor(new float[] { -1, 0.5f, 2 }).requires_grad_(true);
        x.pow(3).sum().backward();
        Assert.Equal(new float[] { 3, 0.75f, 12 }, x.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Scaled_dot_product_attention_matches_the_written_out_formula_with_causal_mask()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var q = randn(2, 3, 5, 8); // (B, nh, T, hs)
        var k = randn(2, 3, 5, 8);
        var v = randn(2, 3, 5, 8);

        var fused = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);

        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(8); // (B, nh, T, T)
        var future = ones(5, 5, dtype: ScalarType.Bool).triu(1);
        var written = scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(v);

        Assert.True(fused.allclose(written, rtol: 1e-5, atol: 1e-5));
        // Position 0 attends only to itself.
        Assert.True(fused[.., .., 0].allclose(v[.., .., 0], rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Dispose_scope_releases_every_tensor_of_a_step()
    {
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (NewDisposeScope())
        {
            var x = randn(16, 16).requires_grad_(true);
            x.matmul(x).relu().sum().backward();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
