using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Optimizers;

/// <summary>
/// BAdam's ratio mode: at ratio 1 it is AdamW (TorchSharp's, as the reference); below, only the drawn entries change,
/// embeddings stay frozen, small parameters train in full, draws follow the mask mode and the switch interval, state
/// survives a checkpoint, and training on the demo data learns.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class RatioBlockOptimizerTests
{
    public RatioBlockOptimizerTests() => Torch.EnsureReady();

    static List<TrainableParameter> Parameters(int seed)
    {
        manual_seed(seed);
        return
        [
            new("model.embed_tokens.weight", new Parameter(randn(16, 8), requires_grad: true), true),
            new("model.layers.0.mlp.up_proj.weight", new Parameter(randn(24, 16), requires_grad: true), true),
            new("model.layers.0.self_attn.q_proj.weight", new Parameter(randn(16, 16), requires_grad: true), true),
            new("model.layers.0.input_layernorm.weight", new Parameter(ones(16), requires_grad: true), false),
        ];
    }

    static void Gradients(IEnumerable<TrainableParameter> parameters, int step)
    {
        manual_seed(100 + step);
        foreach (var p in parameters.Where(p => p.Parameter.requires_grad)) p.Parameter.grad = randn_like(p.Parameter);
    }

    static readonly OptimizerSettings Adam = new(LearningRate: 0.05, WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.99, Epsilon: 1e-6);

    [Fact]
    public void At_ratio_one_it_is_adamw_with_clipping_and_decoupled_decay()
    {
        using var scope = NewDisposeScope();
        var ours = Parameters(1);
        var reference = Parameters(1).Where(p => !p.Name.Contains("embed", StringComparison.Ordinal)).ToList();
        using var ratio = new RatioBlockOptimizer(ours, Adam, new BAdamRatioSettings(1.0, SwitchInterval: -1));
        using var adamw = new TrainingOptimizer(reference, Adam);
        for (int step = 0; step < 5; step++)
        {
            Gradients(ours, step);
            Gradients(reference, step);
            double? a = ratio.Step(0.5 + 0.1 * step, 3.0), b = adamw.Step(0.5 + 0.1 * step, 3.0);
            Assert.Equal(b!.Value, a!.Value, 4);
            ratio.ZeroGrad();
            adamw.ZeroGrad();
        }
        foreach (var (mine, theirs) in ours.Skip(1).Zip(reference))
            Assert.True(allclose(mine.Parameter, theirs.Parameter, rtol: 1e-5, atol: 1e-6), mine.Name);
        Assert.False(ours[0].Parameter.requires_grad);   // the embedding stays frozen
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Only_the_drawn_entries_change_and_new_ones_are_drawn_at_each_switch(bool scatter)
    {
        using var scope = NewDisposeScope();
        var parameters = Parameters(2);
        var before = parameters.Select(p => p.Parameter.detach().clone().reshape(-1)).ToList();
        var messages = new List<string>();
        using var optimizer = new RatioBlockOptimizer(parameters, Adam, new BAdamRatioSettings(0.25, scatter, SwitchInterval: 2, Seed: 5, Verbose: 1), messages.Add);
        var up = optimizer.ActivePositions("model.layers.0.mlp.up_proj.weight");
        Assert.Equal(96, up.Length);                                             // 0.25 × 384
        Assert.Equal(scatter, up.Zip(up.Skip(1)).Any(p => p.Second != p.First + 1));
        Assert.Equal(16, optimizer.ActivePositions("model.layers.0.input_layernorm.weight").Length);   // under 100 entries: all
        Assert.Equal(96 + 64 + 16, optimizer.ActiveElements);

        Gradients(parameters, 0);
        optimizer.Step(1.0, 0);
        var changed = parameters[1].Parameter.detach().reshape(-1).ne(before[1]).nonzero().reshape(-1).data<long>().ToArray();
        Assert.Equal(up, changed);
        Assert.True(parameters[0].Parameter.detach().reshape(-1).eq(before[0]).all().item<bool>());

        Gradients(parameters, 1);
        optimizer.Step(1.0, 0);                                                  // the second step of the interval: a new draw
        Assert.NotEqual(up, optimizer.ActivePositions("model.layers.0.mlp.up_proj.weight"));
        Assert.Equal(2, messages.Count(m => m.StartsWith("BAdam (ratio): drew", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_saved_state_continues_the_same_trajectory()
    {
        using var scope = NewDisposeScope();
        var settings = new BAdamRatioSettings(0.3, Scatter: true, SwitchInterval: 3, Seed: 9);
        var first = Parameters(3);
        using var running = new RatioBlockOptimizer(first, Adam, settings);
        for (int step = 0; step < 2; step++) { Gradients(first, step); running.Step(1.0, 1.0); running.ZeroGrad(); }
        using var saved = new MemoryStream();
        running.Save(saved);

        var second = Parameters(4);                                              // other values: the load must restore them
        foreach (var (a, b) in first.Zip(second)) using (no_grad()) b.Parameter.copy_(a.Parameter);
        using var resumed = new RatioBlockOptimizer(second, Adam, settings);
        saved.Position = 0;
        resumed.Load(saved, "test state");
        for (int step = 2; step < 5; step++)
        {
            Gradients(first, step); running.Step(1.0, 1.0); running.ZeroGrad();
            Gradients(second, step); resumed.Step(1.0, 1.0); resumed.ZeroGrad();
        }
        foreach (var (a, b) in first.Zip(second))
            Assert.True(a.Parameter.eq(b.Parameter).all().item<bool>(), a.Name);
    }

    [Fact]
    public void Full_tuning_with_badam_ratio_learns_on_the_demo_data()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), FinetuningType.Full, maxSteps: 12);
        options.Finetuning.BAdam.UseBadam = true;
        options.Finetuning.BAdam.Mode = BAdamMode.Ratio;
        options.Finetuning.BAdam.UpdateRatio = 0.2;
        options.Finetuning.BAdam.SwitchInterval = 4;
        options.Training.LearningRate = 5e-3;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 0.1, string.Join(", ", losses.Select(l => l.ToString("0.00"))));
        Assert.Contains(events.OfType<TrainingLog>(), e => e.Message.StartsWith("BAdam (ratio): 0.2 of each weight (adjacent)", StringComparison.Ordinal));
    }
}
