using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Optimizers;

/// <summary>Layer-wise BAdam: block order per switch mode, only the active block changes, training learns.</summary>
[Collection(SerialTorchCollection.Name)]
public class BlockOptimizerTests
{
    public BlockOptimizerTests() => Torch.EnsureReady();

    static List<TrainableParameter> FourLayers() =>
        Enumerable.Range(0, 4).SelectMany(layer => new[]
        {
            new TrainableParameter($"model.layers.{layer}.mlp.up_proj.weight", new Parameter(zeros(2, 2), requires_grad: true), true),
            new TrainableParameter($"model.layers.{layer}.input_layernorm.weight", new Parameter(ones(2), requires_grad: true), false),
        }).Append(new TrainableParameter("model.embed_tokens.weight", new Parameter(zeros(3, 2), requires_grad: true), true)).ToList();

    static List<int> Visits(BlockSwitchMode mode, int interval, int? start, int steps)
    {
        using var scope = NewDisposeScope();
        var parameters = FourLayers();
        using var optimizer = new BlockOptimizer(parameters, new OptimizerSettings(LearningRate: 0.1), new BAdamSettings(mode, interval, start, Seed: 3));
        var visits = new List<int>();
        for (int i = 0; i < steps; i++)
        {
            visits.Add(optimizer.ActiveBlock);
            // Only the active block asks for gradients; the embedding never does.
            Assert.All(parameters, p => Assert.Equal(p.Name.StartsWith($"model.layers.{optimizer.ActiveBlock}.", StringComparison.Ordinal), p.Parameter.requires_grad));
            foreach (var p in optimizer.Parameters) p.Parameter.grad = ones_like(p.Parameter);
            optimizer.Step(1.0, 0);
            optimizer.ZeroGrad();
        }
        return visits;
    }

    [Fact]
    public void Blocks_are_visited_in_the_switch_mode_order()
    {
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3, 0], Visits(BlockSwitchMode.Ascending, 2, null, 9));
        Assert.Equal([3, 2, 1, 0, 3], Visits(BlockSwitchMode.Descending, 1, null, 5));
        Assert.Equal([2, 2, 2, 2, 2], Visits(BlockSwitchMode.Fixed, 1, 2, 5));
        Assert.Equal([1, 2, 3, 0], Visits(BlockSwitchMode.Ascending, 1, 1, 4));
        Assert.Equal([0, 0, 0, 0], Visits(BlockSwitchMode.Ascending, -1, null, 4));
        var random = Visits(BlockSwitchMode.Random, 1, null, 8);
        // Each round of four is a permutation of the blocks.
        Assert.Equal([0, 1, 2, 3], random.Take(4).Order());
        Assert.Equal([0, 1, 2, 3], random.Skip(4).Order());
    }

    [Fact]
    public void Only_the_active_layer_changes_and_its_state_is_dropped_at_the_switch()
    {
        using var scope = NewDisposeScope();
        string folder = TrainingFixtures.TinyModel();
        using var loaded = HfModelLoader.Load(folder, ScalarType.BFloat16, CPU);
        var model = loaded.Model;
        var parameters = model.NamedParameters().Select(p => new TrainableParameter(p.Name, p.Parameter, !p.Name.EndsWith("norm.weight", StringComparison.Ordinal))).ToList();
        using var optimizer = new BlockOptimizer(parameters, new OptimizerSettings(LearningRate: 1e-2), new BAdamSettings(BlockSwitchMode.Descending, 2));
        var ids = tensor(new long[,] { { 3, 17, 99, 4, 250, 8, 41, 7 } });
        for (int step = 0; step < 4; step++)
        {
            int active = optimizer.ActiveBlock;
            Assert.Equal(step < 2 ? 1 : 0, active);
            var before = parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
            using (var stepScope = NewDisposeScope())
            {
                var logits = model.Forward(ids);                                                        // (1, 8, V)
                nn.functional.cross_entropy(logits[0].narrow(0, 0, 7), ids[0].narrow(0, 1, 7)).backward();
            }
            Assert.All(parameters, p => Assert.Equal(p.Name.StartsWith($"model.layers.{active}.", StringComparison.Ordinal), p.Parameter.grad is not null));
            optimizer.Step(1.0, 1.0);
            optimizer.ZeroGrad();
            foreach (var p in parameters)
            {
                bool changed = !p.Parameter.allclose(before[p.Name], rtol: 0, atol: 0);
                Assert.True(changed == p.Name.StartsWith($"model.layers.{active}.", StringComparison.Ordinal), $"step {step}: {p.Name} changed = {changed}");
            }
            Assert.Equal(ScalarType.BFloat16, parameters[0].Parameter.dtype);
        }
    }

    [Fact]
    public void Full_tuning_with_badam_learns_on_the_demo_data()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), FinetuningType.Full, maxSteps: 12);
        options.Finetuning.BAdam.UseBadam = true;
        options.Finetuning.BAdam.SwitchInterval = 3;
        options.Finetuning.BAdam.SwitchMode = BAdamSwitchMode.Descending;
        options.Finetuning.BAdam.Verbose = 1;
        options.Training.LearningRate = 5e-3;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 0.1, string.Join(", ", losses.Select(l => l.ToString("0.00"))));
        var switches = events.OfType<TrainingLog>().Where(e => e.Message.StartsWith("BAdam: training block", StringComparison.Ordinal)).Select(e => e.Message[22]).ToList();
        Assert.Equal(['1', '0', '1', '0', '1'], switches);   // two layers, descending, a switch every 3 of 12 steps
    }
}
