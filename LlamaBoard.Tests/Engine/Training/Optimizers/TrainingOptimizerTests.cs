using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Optimizers;

/// <summary>AdamW/SGD with fp32 masters, parameter groups, clipping and state round-trips.</summary>
public class TrainingOptimizerTests
{
    public TrainingOptimizerTests() => Torch.EnsureReady();

    static Parameter Param(float[] values, ScalarType dtype = ScalarType.Float32) =>
        new(tensor(values).to_type(dtype), requires_grad: true);

    [Fact]
    public void First_adamw_step_is_decay_then_lr_times_sign_of_the_gradient()
    {
        using var scope = NewDisposeScope();
        var p = Param([1f, -2f, 3f]);
        using var optimizer = new TrainingOptimizer([new("p", p, WeightDecay: true)], new(LearningRate: 0.1, WeightDecay: 0.5));
        p.grad = tensor(new[] { 4f, -1f, 0.5f });
        optimizer.Step(1.0, maxGradNorm: 0);
        // AdamW step 1: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε) with m̂ = g, v̂ = g².
        float[] expected = [1f * 0.95f - 0.1f, -2f * 0.95f + 0.1f, 3f * 0.95f - 0.1f];
        Assert.Equal(expected, p.data<float>().ToArray(), new FloatComparer(1e-6f));
    }

    [Fact]
    public void Bf16_parameters_keep_small_updates_in_their_fp32_master()
    {
        using var scope = NewDisposeScope();
        var p = Param([1f], ScalarType.BFloat16);
        using var optimizer = new TrainingOptimizer([new("p", p, WeightDecay: false)], new(Kind: "sgd", LearningRate: 1e-3));
        for (int i = 0; i < 10; i++)
        {
            optimizer.ZeroGrad();
            p.grad = ones(1, dtype: ScalarType.BFloat16);
            optimizer.Step(1.0, 0);
        }
        // 1 − 10·0.001 = 0.99; bf16 spacing near 1 is 2^-8 ≈ 0.0039, so ten updates of 0.001 each would be lost
        // (each one rounds back to 1.0) without the fp32 master.
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        Assert.Equal(0.9883f, p.to_type(ScalarType.Float32).item<float>(), 3);
    }

    [Fact]
    public void Learning_rate_scales_and_the_schedule_multiplier_apply_per_group()
    {
        using var scope = NewDisposeScope();
        var a = Param([0f]);
        var b = Param([0f]);
        using var optimizer = new TrainingOptimizer(
            [new("lora_A", a, true), new("lora_B", b, true, LearningRateScale: 16)], new(Kind: "sgd", LearningRate: 0.01));
        a.grad = ones(1);
        b.grad = ones(1);
        optimizer.Step(0.5, 0);
        Assert.Equal(-0.005f, a.item<float>(), 6);
        Assert.Equal(-0.08f, b.item<float>(), 6);
        Assert.Equal(0.005, optimizer.CurrentLearningRate, 9);
    }

    [Fact]
    public void Clipping_reports_the_norm_before_clipping_and_scales_gradients()
    {
        using var scope = NewDisposeScope();
        var p = Param([0f, 0f]);
        using var optimizer = new TrainingOptimizer([new("p", p, false)], new(Kind: "sgd", LearningRate: 1));
        p.grad = tensor(new[] { 3f, 4f });
        double? norm = optimizer.Step(1.0, maxGradNorm: 1.0);
        Assert.Equal(5.0, norm!.Value, 5);
        Assert.Equal(new[] { -0.6f, -0.8f }, p.data<float>().ToArray(), new FloatComparer(1e-5f));
    }

    [Fact]
    public void Saved_state_resumes_the_same_trajectory()
    {
        using var scope = NewDisposeScope();
        float[] Trajectory(bool interrupt)
        {
            var p = Param([0.5f, -0.25f], ScalarType.BFloat16);
            var optimizer = new TrainingOptimizer([new("w", p, true)], new(LearningRate: 0.01, WeightDecay: 0.1));
            Tensor Grad(int step) => tensor(new[] { MathF.Sin(step), MathF.Cos(step) }).to_type(ScalarType.BFloat16);
            for (int step = 0; step < 3; step++) { optimizer.ZeroGrad(); p.grad = Grad(step); optimizer.Step(1.0, 1.0); }
            if (interrupt)
            {
                using var buffer = new MemoryStream();
                optimizer.Save(buffer);
                optimizer.Dispose();
                var fresh = Param([9f, 9f], ScalarType.BFloat16);
                p = fresh;
                optimizer = new TrainingOptimizer([new("w", p, true)], new(LearningRate: 0.01, WeightDecay: 0.1));
                buffer.Position = 0;
                optimizer.Load(buffer, "test state");
            }
            for (int step = 3; step < 6; step++) { optimizer.ZeroGrad(); p.grad = Grad(step); optimizer.Step(1.0, 1.0); }
            optimizer.Dispose();
            return p.to_type(ScalarType.Float32).data<float>().ToArray();
        }
        Assert.Equal(Trajectory(false), Trajectory(true));
    }

    [Fact]
    public void State_for_other_parameters_is_refused_by_name()
    {
        using var scope = NewDisposeScope();
        using var buffer = new MemoryStream();
        using (var first = new TrainingOptimizer([new("a", Param([1f]), true)], new()))
            first.Save(buffer);
        buffer.Position = 0;
        using var second = new TrainingOptimizer([new("b", Param([1f]), true)], new());
        var error = Assert.Throws<InvalidDataException>(() => second.Load(buffer, "checkpoint-7/optimizer.bin"));
        Assert.Contains("'a'", error.Message);
        Assert.Contains("checkpoint-7/optimizer.bin", error.Message);
    }

    [Fact]
    public void Nothing_to_train_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() => new TrainingOptimizer([], new()));
        Assert.Contains("nothing to train", error.Message);
    }

    sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
