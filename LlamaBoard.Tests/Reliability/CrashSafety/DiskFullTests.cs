using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Training;

namespace LlamaBoard.Tests.Reliability.CrashSafety;

/// <summary>
/// A disk that fills up while a checkpoint or an export is written. The failure is the operating system's own:
/// part of the files is written normally, then the writer copies into <c>/dev/full</c>, whose every write fails with
/// ENOSPC ("No space left on device"), as a full file system would (a small tmpfs would need root). What is checked
/// is what a user finds afterwards: the previous checkpoint (or export) complete and usable, nothing half-written.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class DiskFullTests
{
    const string DevFull = "/dev/full";

    /// <summary>Writes some real bytes into <paramref name="folder"/>, then fails as a full disk does.</summary>
    static void FillUp(string folder)
    {
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), new byte[1 << 16]); // the first file fits
        using var full = new FileStream(DevFull, FileMode.Open, FileAccess.Write);
        full.Write(new byte[1 << 16]);
        full.Flush(flushToDisk: true);
    }

    [Fact]
    public void A_full_disk_during_a_checkpoint_leaves_the_previous_checkpoint_usable_for_resume()
    {
        Assert.True(File.Exists(DevFull), "this test needs /dev/full (Linux)");
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string output = dir.File("run");
        var options = TrainingFixtures.Sft(output, maxSteps: 6); // the loop saves at step 5, not at the last step
        options.Training.SaveSteps = 5;
        options.Training.SaveTotalLimit = 1; // rotation must not delete the only good checkpoint before a save succeeds
        var (first, _) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, first.Outcome);
        string previous = CheckpointManager.Latest(output)!;
        Assert.EndsWith("checkpoint-5", previous, StringComparison.Ordinal);
        var before = Directory.EnumerateFiles(previous).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

        var manager = new CheckpointManager(output, saveTotalLimit: 1);
        var error = Assert.ThrowsAny<IOException>(() => manager.Save(10, FillUp, _ => { }, TrainerState.Load(previous),
                                                                      CheckpointManager.LoadPosition(previous)));
        Assert.Contains("space", error.Message, StringComparison.OrdinalIgnoreCase);

        // The previous checkpoint is still the newest, byte for byte, and nothing partial is left beside it.
        Assert.Equal(previous, CheckpointManager.Latest(output));
        Assert.Equal(before.Keys.Order(), Directory.EnumerateFiles(previous).Select(f => Path.GetFileName(f)).Order());
        foreach (var (name, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(previous, name)));
        Assert.Empty(Directory.EnumerateDirectories(output, ".*"));
        Assert.False(Directory.Exists(manager.PathFor(10)));

        // And it resumes: the run continues from step 5 to step 10.
        var resume = TrainingFixtures.Sft(output, maxSteps: 10);
        resume.Training.SaveSteps = 5;
        resume.Training.OverwriteOutputDir = false;
        var (second, events) = TrainingFixtures.Train(resume);
        Assert.Equal(TrainingOutcome.Completed, second.Outcome);
        Assert.Equal(Enumerable.Range(6, 5), events.OfType<StepCompleted>().Select(e => e.Step));
    }

    [Fact]
    public void A_full_disk_during_an_export_leaves_the_previous_export_in_place()
    {
        using var dir = new TempDirectory();
        string destination = dir.File("export");
        Directory.CreateDirectory(destination);
        File.WriteAllText(Path.Combine(destination, "config.json"), "{\"previous\": true}");

        // ModelExporter writes every file into a StagedFolder and commits at the end; a failure disposes it.
        var error = Assert.ThrowsAny<IOException>(() =>
        {
            using var staged = StagedFolder.Create(destination, overwrite: true);
            FillUp(staged.Path);
            staged.Commit();
        });
        Assert.Contains("space", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("{\"previous\": true}", File.ReadAllText(Path.Combine(destination, "config.json")));
        Assert.Single(Directory.EnumerateFileSystemEntries(destination));
        Assert.Equal(destination, Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path)));
    }
}
