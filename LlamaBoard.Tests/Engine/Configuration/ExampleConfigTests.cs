using LlamaBoard.Engine.Configuration;
using static LlamaBoard.Tests.Engine.Configuration.ConfigTestKit;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Every file in examples/ validates for its command and survives load → save → load unchanged.</summary>
public class ExampleConfigTests
{
    static IEnumerable<string> Files()
    {
        string root = Path.Combine(RepositoryRoot(), "examples");
        return Directory.GetFiles(root, "*.yaml", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
    }

    public static TheoryData<string> ExampleFiles() => new(Files());

    /// <summary>The command an example is for, from its folder (as examples/README.md lists them).</summary>
    static OptionsPurpose PurposeOf(string file) => file.Split('/')[0] switch
    {
        "merge_lora" or "export_gguf" => OptionsPurpose.Export,
        "inference" => OptionsPurpose.Chat,
        _ => OptionsPurpose.Train,
    };

    static string FullPath(string file) => Path.Combine(RepositoryRoot(), "examples", file);

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Example_validates_without_warnings(string file)
    {
        var loaded = OptionsLoader.LoadFile(FullPath(file));
        var report = OptionsValidator.Validate(loaded, PurposeOf(file));
        Assert.True(report.Messages.Count == 0, string.Join("\n", report.Messages));
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Example_round_trips(string file)
    {
        var loaded = OptionsLoader.LoadFile(FullPath(file));
        var again = OptionsLoader.LoadYaml(OptionsWriter.ToYaml(loaded.Options));
        Assert.Empty(again.Result.Messages);
        Assert.Equal(Snapshot(loaded.Options), Snapshot(again.Options));
        var full = OptionsLoader.LoadYaml(OptionsWriter.ToYaml(loaded.Options, OptionsWriteMode.All));
        Assert.Equal(Snapshot(loaded.Options), Snapshot(full.Options));
    }

    [Fact]
    public void Examples_cover_every_stage_and_method()
    {
        var options = Files().Select(file => OptionsLoader.LoadFile(FullPath(file)).Options).ToList();
        Assert.Equal(24, options.Count);
        var training = options.Where(o => o.Training.DoTrain).ToList();
        Assert.Equal(Enum.GetValues<TrainingStage>().Order(), training.Select(o => o.Finetuning.Stage).Distinct().Order());
        Assert.Equal(Enum.GetValues<FinetuningType>().Order(), training.Select(o => o.Finetuning.FinetuningType).Distinct().Order());
        Assert.Contains(training, o => o.Model.Quantization.Bit == 4);
        Assert.Contains(training, o => o.Finetuning.GaLore.UseGalore);
        Assert.Contains(training, o => o.Finetuning.BAdam.UseBadam);
        Assert.Contains(training, o => o.Finetuning.Lora.UseDora);
        Assert.Contains(training, o => o.Finetuning.Lora.UseRsLora);
        Assert.Contains(training, o => o.Finetuning.Lora.PissaInit);
        Assert.Contains(training, o => o.Finetuning.Lora.LoraPlusLrRatio is not null);
        Assert.Contains(training, o => o.Finetuning.Preference.Loss == PreferenceLoss.Orpo);
        Assert.Contains(training, o => o.Finetuning.Preference.Loss == PreferenceLoss.Simpo);
        Assert.Contains(options, o => o.Export.ExportDir is not null && o.Export.ExportFormat == ExportFormat.HuggingFace);
        Assert.Contains(options, o => o.Export.ExportDir is not null && o.Export.ExportFormat == ExportFormat.Gguf);
        Assert.Contains(options, o => !o.Training.DoTrain && o.Training.DoEval && o.Training.DoPredict && o.Training.PredictWithGenerate);
        Assert.All(options, o => Assert.Equal("models/demo", o.Model.ModelNameOrPath));
        Assert.All(training, o => Assert.StartsWith("saves/demo/", o.Training.OutputDir));
        Assert.All(training, o => Assert.InRange(o.Data.CutoffLen, 256, 512));
    }
}
