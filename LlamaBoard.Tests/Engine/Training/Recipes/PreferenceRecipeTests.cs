using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Preference;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Engine.Training.Recipes;

/// <summary>
/// Stages rm, dpo (each pref_loss) and kto end to end on the demo preference data with a tiny model: the loss falls
/// and the preference metrics rise; outputs and logs have LLaMA-Factory's layout.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class PreferenceRecipeTests
{
    readonly ITestOutputHelper output;

    public PreferenceRecipeTests(ITestOutputHelper output)
    {
        Torch.EnsureReady();
        this.output = output;
    }

    static string Curve(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("F3")));

    // hinge, ipo and kto_pair share this path; their formulas are checked against PyTorch in PreferenceLossesTests.
    [Theory]
    [InlineData(PreferenceLoss.Sigmoid)]
    [InlineData(PreferenceLoss.Orpo)]
    [InlineData(PreferenceLoss.Simpo)]
    public void Dpo_raises_reward_accuracy_and_lowers_the_loss(PreferenceLoss loss)
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Preference(dir.File("out"), TrainingStage.Dpo, loss);
        // SimPO's usual β is 2; ORPO's odds-ratio term needs a larger weight than its default 0.1 to outweigh the SFT
        // term within a dozen steps on a random tiny model.
        if (loss is PreferenceLoss.Simpo or PreferenceLoss.Orpo) options.Finetuning.Preference.Beta = 2.0;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        var accuracies = TrainingFixtures.Metric(events, "rewards/accuracies");
        var margins = TrainingFixtures.Metric(events, "rewards/margins");
        Assert.Equal(losses.Count, accuracies.Count);
        string curves = $"{loss}: loss {Curve(losses)}; accuracy {Curve(accuracies)}; margins {Curve(margins)}";
        output.WriteLine(curves);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average(), curves);
        Assert.True(accuracies.TakeLast(3).Average() >= 0.9, curves);
        Assert.True(margins.TakeLast(3).Average() > margins.Take(3).Average(), curves);

        // trainer_log.jsonl: LLaMA-Factory's accuracy field (from rewards/accuracies), then TRL's metric names.
        var log = File.ReadAllLines(Path.Combine(result.OutputDir, "trainer_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject())
                      .Where(r => r.ContainsKey("loss")).ToList();
        Assert.All(log, r => Assert.True(r.ContainsKey("accuracy") && r.ContainsKey("rewards/chosen") && r.ContainsKey("logps/rejected")
                                         && r.ContainsKey("logits/chosen"), r.ToJsonString()));
        Assert.Equal(Math.Round(accuracies[^1], 6), Math.Round((double)log[^1]["accuracy"]!, 6));
    }

    [Fact]
    public void Kto_widens_the_reward_margin_and_lowers_the_loss()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Preference(dir.File("out"), TrainingStage.Kto);
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        var margins = TrainingFixtures.Metric(events, "rewards/margins");
        var kl = TrainingFixtures.Metric(events, "kl");
        string curves = $"kto: loss {Curve(losses)}; margins {Curve(margins)}; kl {Curve(kl)}";
        output.WriteLine(curves);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average(), curves);
        Assert.True(margins.TakeLast(3).Average() > margins.Take(3).Average() + 0.1, curves);
        Assert.Equal(losses.Count, kl.Count);
    }

    [Fact]
    public void Reward_model_learns_to_rank_and_saves_its_value_head_beside_the_adapter()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Preference(dir.File("out"), TrainingStage.Reward);
        options.Data.ValSize = 2;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        var accuracies = TrainingFixtures.Metric(events, "accuracy");
        var margins = TrainingFixtures.Metric(events, "margin");
        string curves = $"rm: loss {Curve(losses)}; accuracy {Curve(accuracies)}; margin {Curve(margins)}";
        output.WriteLine(curves);
        // The fresh head may already rank the few training pairs right (accuracy can start at 1), so learning shows
        // in the loss and the margin; accuracy must end high.
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 0.1, curves);
        Assert.True(accuracies.TakeLast(3).Average() >= 0.9, curves);
        Assert.True(margins.TakeLast(3).Average() > margins.Take(3).Average() + 1, curves);

        string head = Path.Combine(result.OutputDir, ValueHead.FileName);
        var header = LlamaBoard.Engine.Checkpoints.SafetensorsHeader.Read(head);
        Assert.Equal([ValueHead.BiasName, ValueHead.WeightName], header.Tensors.Select(t => t.Name).Order());
        Assert.Equal([1L, 64L], header.Tensors.Single(t => t.Name == ValueHead.WeightName).Shape);
        Assert.True(LlamaBoard.Engine.Adapters.PeftAdapterFiles.IsAdapterFolder(result.OutputDir));
        var evaluation = events.OfType<EvaluationCompleted>().Last();
        Assert.True(evaluation.Metrics.ContainsKey("eval_accuracy"), string.Join(", ", evaluation.Metrics.Keys));
    }

    [Fact]
    public void A_reward_run_stopped_and_resumed_continues_the_same_curve()
    {
        using var dir = new TempDirectory();
        var whole = TrainingFixtures.Preference(dir.File("whole"), TrainingStage.Reward, maxSteps: 6);
        whole.Training.PerDeviceTrainBatchSize = 2;
        whole.Training.LoggingSteps = 4;
        var expected = TrainingFixtures.Train(whole).Events;

        var first = whole.Clone();
        first.Training.OutputDir = dir.File("resumed");
        var (stopped, firstEvents) = TrainingFixtures.Train(first, stopWhen: e => e is StepCompleted { Step: 3 });
        Assert.Equal(TrainingOutcome.Stopped, stopped.Outcome);
        Assert.True(File.Exists(Path.Combine(stopped.CheckpointDir!, ValueHead.FileName)));
        var second = first.Clone();
        second.Training.OverwriteOutputDir = false;
        var (_, secondEvents) = TrainingFixtures.Train(second);

        var resumed = firstEvents.Concat(secondEvents).ToList();
        Assert.Equal(TrainingFixtures.Losses(expected).Select(l => Math.Round(l, 5)), TrainingFixtures.Losses(resumed).Select(l => Math.Round(l, 5)));
        Assert.Equal(TrainingFixtures.Metric(expected, "margin").Select(m => Math.Round(m, 5)),
                     TrainingFixtures.Metric(resumed, "margin").Select(m => Math.Round(m, 5)));
        // The logged window that spans the stop (steps 1-4) averages the same metrics.
        var wholeLog = File.ReadAllLines(Path.Combine(dir.File("whole"), "trainer_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).First(r => r.ContainsKey("loss"));
        var resumedLog = File.ReadAllLines(Path.Combine(dir.File("resumed"), "trainer_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).First(r => r.ContainsKey("loss"));
        Assert.Equal(Math.Round((double)wholeLog["accuracy"]!, 6), Math.Round((double)resumedLog["accuracy"]!, 6));
    }
    [Theory]
    [InlineData(TrainingStage.Dpo)]
    [InlineData(TrainingStage.Kto)]
    public void A_dpo_or_kto_run_stopped_and_resumed_continues_the_same_curve(TrainingStage stage)
    {
        using var dir = new TempDirectory();
        var whole = TrainingFixtures.Preference(dir.File("whole"), stage, maxSteps: 5);
        whole.Training.PerDeviceTrainBatchSize = 2;
        var expected = TrainingFixtures.Train(whole).Events;

        var first = whole.Clone();
        first.Training.OutputDir = dir.File("resumed");
        var (stopped, firstEvents) = TrainingFixtures.Train(first, stopWhen: e => e is StepCompleted { Step: 2 });
        Assert.Equal(TrainingOutcome.Stopped, stopped.Outcome);
        var second = first.Clone();
        second.Training.OverwriteOutputDir = false;
        var (_, secondEvents) = TrainingFixtures.Train(second);
        Assert.Contains(secondEvents.OfType<TrainingLog>(), l => l.Message.StartsWith("Resuming from", StringComparison.Ordinal));

        // The reference's cache starts empty after the restart; its log-probs, and so every reward, must not change.
        var resumed = firstEvents.Concat(secondEvents).ToList();
        Assert.Equal(5, TrainingFixtures.Losses(resumed).Count);
        Assert.Equal(TrainingFixtures.Losses(expected).Select(l => Math.Round(l, 5)), TrainingFixtures.Losses(resumed).Select(l => Math.Round(l, 5)));
        Assert.Equal(TrainingFixtures.Metric(expected, "rewards/chosen").Select(m => Math.Round(m, 5)),
                     TrainingFixtures.Metric(resumed, "rewards/chosen").Select(m => Math.Round(m, 5)));
    }
}
