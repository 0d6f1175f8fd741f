using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Data;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Engine.Training.Recipes;

/// <summary>
/// The preference and RL examples (examples/train_lora: rm, dpo with each pref_loss, orpo, simpo, kto, ppo) run as
/// written through the stage recipes; only the model (the tiny test model instead of models/demo), the paths and
/// the run length are overridden, as `llamaboard train file.yaml key=value` would.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class PreferenceExampleTests(ITestOutputHelper output)
{
    // The reward model first: the PPO example scores with it.
    static readonly string[] Examples =
    [
        "demo_lora_reward.yaml", "demo_lora_dpo.yaml", "demo_lora_dpo_hinge.yaml", "demo_lora_dpo_ipo.yaml", "demo_lora_dpo_kto_pair.yaml",
        "demo_lora_orpo.yaml", "demo_lora_simpo.yaml", "demo_lora_kto.yaml", "demo_lora_ppo.yaml",
    ];

    [Fact]
    public void Every_preference_example_trains_and_saves_its_adapter()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string rewardOutput = dir.File("rm");
        foreach (string file in Examples)
        {
            var loaded = OptionsLoader.LoadFile(Path.Combine(RepositoryPaths.Root, "examples", "train_lora", file));
            Assert.DoesNotContain(loaded.Result.Messages, m => m.Severity == MessageSeverity.Error);
            var options = loaded.Options;
            options.Model.ModelNameOrPath = TrainingFixtures.TinyModel();
            options.Model.Device = "cpu";
            options.Data.DatasetDir = RepositoryPaths.DemoData;
            options.Data.CutoffLen = 96;
            options.Data.MaxSamples = 8;
            options.Training.MaxSteps = 2;
            options.Training.OutputDir = file == "demo_lora_reward.yaml" ? rewardOutput : dir.File(Path.GetFileNameWithoutExtension(file));
            if (options.Finetuning.Stage == TrainingStage.Ppo)
            {
                options.Finetuning.Preference.RewardModel = rewardOutput;
                options.Generating.MaxNewTokens = 4;
            }
            var (result, events) = TrainingFixtures.Train(options);
            Assert.True(result.Outcome == TrainingOutcome.Completed,
                        $"{file}: {string.Join("\n", events.OfType<TrainingLog>().Select(l => l.Message))}");
            var steps = events.OfType<StepCompleted>().ToList();
            Assert.Equal(2, steps.Count);
            Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss), $"{file}: loss {s.Loss}"));
            Assert.True(LlamaBoard.Engine.Adapters.PeftAdapterFiles.IsAdapterFolder(result.OutputDir), file);
            Assert.True(File.Exists(Path.Combine(result.OutputDir, "trainer_log.jsonl")), file);
            output.WriteLine($"{file}: stage {options.Finetuning.Stage}, pref_loss {options.Finetuning.Preference.Loss}, losses {string.Join(", ", steps.Select(s => s.Loss.ToString("F4")))}");
        }
    }
}
