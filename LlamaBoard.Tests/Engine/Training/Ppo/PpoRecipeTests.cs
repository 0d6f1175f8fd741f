using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Ppo;
using LlamaBoard.Engine.Training.Preference;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Engine.Training.Ppo;

/// <summary>
/// Stage ppo end to end: a reward adapter is trained first (stage rm on the demo pairs), then PPO trains the tiny
/// policy against it on the demo prompts; the run logs rewards, its mean reward rises, and it saves the adapter with
/// its value head.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class PpoRecipeTests(ITestOutputHelper output)
{
    static string Curve(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("F3")));

    static LlamaBoardOptions PpoOptions(string outputDir, string rewardModel, int maxSteps)
    {
        var options = TrainingFixtures.Sft(outputDir, FinetuningType.Lora, maxSteps);
        options.Finetuning.Stage = TrainingStage.Ppo;
        options.Data.Dataset = ["alpaca_demo"];
        options.Data.CutoffLen = 96;
        var preference = options.Finetuning.Preference;
        preference.RewardModel = rewardModel;
        preference.RewardModelType = RewardModelType.Lora;
        preference.PpoEpochs = 4;
        options.Generating.MaxNewTokens = 8;
        options.Generating.TopK = 0;
        options.Generating.TopP = 1.0;
        options.Generating.Temperature = 1.0;
        options.Training.PerDeviceTrainBatchSize = 8;
        options.Training.LearningRate = 1e-2;
        // A random tiny model's next-token distribution is nearly uniform and its final norm caps what LoRA on the
        // layers can change; training the output head as well lets a dozen PPO steps move the distribution.
        options.Finetuning.Lora.AdditionalTarget = ["lm_head"];
        // The same eight prompts every step, so that the mean reward of one step compares with another's (a reward
        // model's scores vary more between prompts than between responses), and scores normalised by their running
        // statistics, so that they outweigh the noise of the fresh value head in the advantages.
        options.Data.MaxSamples = 8;
        preference.PpoScoreNorm = true;
        return options;
    }

    [Fact]
    public void Ppo_raises_the_mean_reward_of_a_reward_model_trained_on_the_demo_pairs()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        var rm = TrainingFixtures.Preference(dir.File("rm"), TrainingStage.Reward, maxSteps: 8);
        Assert.Equal(TrainingOutcome.Completed, TrainingFixtures.Train(rm).Result.Outcome);

        var options = PpoOptions(dir.File("ppo"), dir.File("rm"), maxSteps: 20);
        // The reward model reads its value at the last token, so short responses make each sampled token count.
        options.Generating.MaxNewTokens = 3;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Contains(events.OfType<TrainingLog>(), l => l.Message.Contains("swapped into the policy's LoRA layers"));
        var rewards = TrainingFixtures.Metric(events, "reward");
        var kl = TrainingFixtures.Metric(events, "objective/kl");
        var losses = TrainingFixtures.Losses(events);
        output.WriteLine($"ppo: reward {Curve(rewards)}; kl {Curve(kl)}; loss {Curve(losses)}");
        Assert.Equal(20, rewards.Count);
        Assert.True(rewards.TakeLast(3).Average() > rewards.Take(3).Average() + 0.1, $"reward {Curve(rewards)}");

        var log = File.ReadAllLines(Path.Combine(result.OutputDir, "trainer_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject())
                      .Where(r => r.ContainsKey("loss")).ToList();
        Assert.All(log, r => Assert.True(r.ContainsKey("reward") && r.ContainsKey("objective/kl") && r.ContainsKey("ppo/loss/value")
                                         && r.ContainsKey("ppo/policy/entropy"), r.ToJsonString()));
        Assert.True(File.Exists(Path.Combine(result.OutputDir, ValueHead.FileName)));
        Assert.True(LlamaBoard.Engine.Adapters.PeftAdapterFiles.IsAdapterFolder(result.OutputDir));
    }

    /// <summary>A reward that counts the low-id tokens among the last eight: easy to raise, known exactly.</summary>
    sealed class LowTokens : IRewardSource
    {
        public float[] Score(IReadOnlyList<int[]> sequences) =>
            sequences.Select(s => (float)s.TakeLast(8).Count(t => t < 256) / 8).ToArray();
    }

    [Fact]
    public void Ppo_raises_a_scripted_reward()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        var options = PpoOptions(dir.File("ppo"), "unused", maxSteps: 20);
        var progress = new TrainingFixtures.SyncProgress();
        var device = LlamaBoard.Engine.Training.Recipes.RecipeSetup.Device(options);
        var data = LlamaBoard.Engine.Training.Recipes.RecipeSetup.Data(options, LlamaBoard.Engine.Data.DataStage.Unsupervised,
                                                                        options.Model.ModelNameOrPath!, progress, CancellationToken.None);
        using var model = TrainableModel.Load(options, options.Model.ModelNameOrPath!, device);
        model.AttachValueHead();
        using var reference = ReferenceModel.Create(options, model, device);
        var result = new PpoTrainer(model, reference, new LowTokens(), data.Train, data.Tokenizer, options, device, progress).Run(CancellationToken.None);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var rewards = TrainingFixtures.Metric(progress.Events, "reward");
        output.WriteLine($"scripted: reward {Curve(rewards)}; kl {Curve(TrainingFixtures.Metric(progress.Events, "objective/kl"))}");
        Assert.True(rewards.TakeLast(3).Average() > rewards.Take(3).Average() + 0.1, $"reward {Curve(rewards)}");
    }

    [Fact]
    public void A_ppo_run_stopped_and_resumed_continues_the_same_rollouts()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        var rm = TrainingFixtures.Preference(dir.File("rm"), TrainingStage.Reward, maxSteps: 2);
        TrainingFixtures.Train(rm);
        var whole = PpoOptions(dir.File("whole"), dir.File("rm"), maxSteps: 4);
        whole.Training.PerDeviceTrainBatchSize = 2;
        var expected = TrainingFixtures.Metric(TrainingFixtures.Train(whole).Events, "reward");

        var first = whole.Clone();
        first.Training.OutputDir = dir.File("resumed");
        var (stopped, firstEvents) = TrainingFixtures.Train(first, stopWhen: e => e is StepCompleted { Step: 2 });
        Assert.Equal(TrainingOutcome.Stopped, stopped.Outcome);
        Assert.True(File.Exists(Path.Combine(stopped.CheckpointDir!, PpoTrainer.StateFileName)));
        var second = first.Clone();
        second.Training.OverwriteOutputDir = false;
        var (_, secondEvents) = TrainingFixtures.Train(second);
        var resumed = TrainingFixtures.Metric(firstEvents.Concat(secondEvents), "reward");
        Assert.Equal(expected.Select(r => Math.Round(r, 5)), resumed.Select(r => Math.Round(r, 5)));
    }
}
