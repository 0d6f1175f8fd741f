using System.Globalization;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Training;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Reliability.CrashSafety;

/// <summary>
/// <c>llamaboard train</c> killed with SIGKILL at a random step after a checkpoint, then started again with the same
/// configuration: it resumes from the newest checkpoint and, on CPU with a fixed seed, logs exactly the losses of an
/// uninterrupted run (trainer_log.jsonl rounds to 4 decimals, so equal rounded values at every step).
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TrainKillResumeTests(ITestOutputHelper output)
{
    // Small, because the uninterrupted run, the killed run and the resumed run are three processes on a shared CPU.
    const int MaxSteps = 12;
    const int SaveSteps = 3;
    static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(4);

    static string WriteConfig(string folder, string outputDir)
    {
        var options = TrainingFixtures.Sft(outputDir, maxSteps: MaxSteps);
        options.Training.DoTrain = true;
        options.Finetuning.Freeze.TrainableLayers = new LlamaBoard.Engine.Configuration.LlamaBoardOptions().Finetuning.Freeze.TrainableLayers;
        options.Training.SaveSteps = SaveSteps;
        options.Training.PerDeviceTrainBatchSize = 2;
        options.Data.CutoffLen = 64;
        options.Training.OverwriteOutputDir = false; // a second start resumes from the newest checkpoint
        options.Finetuning.Lora.Dropout = 0.1;       // the RNG state must be restored too
        string path = Path.Combine(folder, Path.GetFileName(outputDir) + ".yaml");
        OptionsWriter.Save(options, path);
        return path;
    }

    /// <summary>The loss logged for each step, the last record winning (a resumed run logs its steps again).</summary>
    static SortedDictionary<int, double> Losses(string outputDir)
    {
        var losses = new SortedDictionary<int, double>();
        string log = Path.Combine(outputDir, "trainer_log.jsonl");
        if (!File.Exists(log)) return losses;
        foreach (string line in File.ReadAllLines(log))
        {
            if (line.Length == 0 || JsonNode.Parse(line) is not JsonObject record || record["loss"] is null) continue;
            losses[record["current_steps"]!.GetValue<int>()] = record["loss"]!.GetValue<double>();
        }
        return losses;
    }

    static int LoggedSteps(string outputDir)
    {
        try
        {
            return Losses(outputDir).Keys.DefaultIfEmpty(0).Max();
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
        {
            return 0; // a line being written
        }
    }

    [Fact]
    public void Killed_training_resumes_from_its_checkpoint_and_ends_with_the_uninterrupted_loss()
    {
        using var dir = new TempDirectory();
        string reference = dir.File("reference");
        string crashed = dir.File("crashed");
        _ = TrainingFixtures.TinyModel();

        using (var run = CliProcess.Start("train", WriteConfig(dir.Path, reference)))
            Assert.True(run.WaitForExit(RunLimit) == 0, run.Output);
        var expected = Losses(reference);
        Assert.Equal(Enumerable.Range(1, MaxSteps), expected.Keys);

        // Kill at a random step strictly between two checkpoints, after at least one checkpoint exists.
        var rng = new Random(Environment.TickCount);
        int checkpoint = SaveSteps * rng.Next(1, MaxSteps / SaveSteps - 1);
        int killAt = checkpoint + rng.Next(1, SaveSteps);
        int killedAfter;
        using (var run = CliProcess.Start("train", WriteConfig(dir.Path, crashed)))
        {
            var deadline = DateTime.UtcNow + RunLimit;
            while (LoggedSteps(crashed) < killAt && !run.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(5);
            Assert.False(run.HasExited, $"the run ended before step {killAt}:\n{run.Output}");
            run.KillHard();
            killedAfter = LoggedSteps(crashed);
        }
        output.WriteLine($"killed after step {killedAfter} (aimed at {killAt}; checkpoint-{checkpoint} was the target to resume from)");
        Assert.True(killedAfter < MaxSteps, "the kill came too late to test anything");
        Assert.False(File.Exists(Path.Combine(crashed, "train_results.json")), "the killed run must not look finished");
        string? latest = CheckpointManager.Latest(crashed);
        Assert.NotNull(latest);
        int resumeStep = int.Parse(Path.GetFileName(latest)!["checkpoint-".Length..], CultureInfo.InvariantCulture);
        Assert.True(resumeStep <= killedAfter && resumeStep >= SaveSteps, $"newest checkpoint {latest}, killed after {killedAfter}");

        using (var run = CliProcess.Start("train", WriteConfig(dir.Path, crashed)))
        {
            Assert.True(run.WaitForExit(RunLimit) == 0, run.Output);
            Assert.Contains($"checkpoint-{resumeStep}", run.Output, StringComparison.Ordinal);
        }
        var resumed = Losses(crashed);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resumed from checkpoint-{resumeStep}; final loss {resumed[MaxSteps]:0.0000} (uninterrupted {expected[MaxSteps]:0.0000})"));
        Assert.Equal(expected.Keys, resumed.Keys);
        foreach (var (step, loss) in expected)
            Assert.True(loss == resumed[step], $"step {step}: uninterrupted loss {loss}, after kill and resume {resumed[step]}");
        Assert.Empty(Directory.EnumerateDirectories(crashed, ".*")); // no half-written checkpoint left behind
    }
}
