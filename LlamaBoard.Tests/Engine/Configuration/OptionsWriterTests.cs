using LlamaBoard.Engine.Configuration;
using static LlamaBoard.Tests.Engine.Configuration.ConfigTestKit;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Saving options as LLaMA-Factory-style YAML and reading them back.</summary>
public class OptionsWriterTests
{
    static LlamaBoardOptions Busy()
    {
        var options = OptionsLoader.LoadYaml("""
            model_name_or_path: models/demo
            adapter_name_or_path: saves/a,saves/b
            quantization_bit: 4
            stage: dpo
            do_train: true
            pref_loss: simpo
            lora_target: q_proj,v_proj
            lora_alpha: 32
            dataset: dpo_demo
            template: "yes"
            default_system: "You are: careful.\nAnswer briefly, #1 rule."
            interleave_probs: 0.5,0.5
            mix_strategy: interleave_under
            learning_rate: 5.0e-6
            num_train_epochs: 1.5
            output_dir: saves/demo/lora/dpo
            eval_strategy: steps
            rope_scaling: yarn
            packing: false
            enable_thinking: null
            deepspeed: {zero_optimization: {stage: 3}, note: "a, b"}
            report_to: [none]
            """).Options;
        options.Finetuning.Freeze.ExtraModules = ["weird,name", "norm"];
        options.Data.TokenizedPath = "  padded  ";
        return options;
    }

    [Fact]
    public void Changed_keys_round_trip()
    {
        var options = Busy();
        string yaml = OptionsWriter.ToYaml(options);
        var again = OptionsLoader.LoadYaml(yaml);
        Assert.True(again.Result.Errors.Count() == 0, string.Join("\n", again.Result.Messages) + "\n" + yaml);
        Assert.Equal(Snapshot(options), Snapshot(again.Options));
        Assert.Equal(yaml, OptionsWriter.ToYaml(again.Options));
    }

    [Fact]
    public void All_keys_round_trip()
    {
        var options = Busy();
        string yaml = OptionsWriter.ToYaml(options, OptionsWriteMode.All);
        var again = OptionsLoader.LoadYaml(yaml);
        Assert.True(again.Result.Errors.Count() == 0, string.Join("\n", again.Result.Messages));
        Assert.Equal(Snapshot(options), Snapshot(again.Options));
        foreach (var key in OptionRegistry.Keys.Where(k => k.Support == OptionSupport.Supported))
            Assert.Contains($"\n{key.Name}: ", "\n" + yaml);
    }

    [Fact]
    public void Output_reads_like_llama_factorys_examples()
    {
        var options = new LlamaBoardOptions();
        OptionsLoader.ApplyOverrides(options,
        [
            "model_name_or_path=models/demo", "stage=sft", "do_train=true", "lora_target=all", "lora_rank=16",
            "dataset=identity,alpaca_demo", "template=qwen3", "output_dir=saves/demo/lora/sft", "learning_rate=1.0e-4",
            "num_train_epochs=3", "val_size=0.1", "ddp_timeout=180000000",
        ]);
        Assert.Equal("""
            ### model
            model_name_or_path: models/demo

            ### method
            do_train: true
            lora_rank: 16

            ### dataset
            dataset: identity,alpaca_demo
            template: qwen3

            ### output
            output_dir: saves/demo/lora/sft

            ### train
            learning_rate: 0.0001
            ddp_timeout: 180000000  # ignored by LlamaBoard

            ### eval
            val_size: 0.1

            """.Replace("\r\n", "\n", StringComparison.Ordinal), OptionsWriter.ToYaml(options));
    }

    [Theory]
    [InlineData(5e-5, "5.0e-05")]
    [InlineData(1e-4, "0.0001")]
    [InlineData(3.0, "3.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(2e10, "20000000000.0")]
    [InlineData(1e-10, "1.0e-10")]
    public void Numbers_are_written_so_pyyaml_reads_floats(double value, string expected)
    {
        var options = new LlamaBoardOptions();
        options.Training.LearningRate = value;
        Assert.Contains($"\nlearning_rate: {expected}\n", OptionsWriter.ToYaml(options, OptionsWriteMode.All));
    }

    [Fact]
    public void Text_that_yaml_would_misread_is_quoted()
    {
        var options = new LlamaBoardOptions();
        options.Data.Template = "yes";
        options.Data.DefaultSystem = "a: b";
        options.Model.ModelNameOrPath = "123";
        options.Training.OutputDir = "#out";
        options.Data.Dataset = ["a", "b"];
        string yaml = OptionsWriter.ToYaml(options);
        Assert.Contains("template: \"yes\"\n", yaml);
        Assert.Contains("default_system: \"a: b\"\n", yaml);
        Assert.Contains("model_name_or_path: \"123\"\n", yaml);
        Assert.Contains("output_dir: \"#out\"\n", yaml);
        Assert.Contains("dataset: a,b\n", yaml);
        Assert.Equal(Snapshot(options), Snapshot(OptionsLoader.LoadYaml(yaml).Options));
    }

    [Fact]
    public void Overrides_preview_round_trips()
    {
        var options = OptionsLoader.FromOverrides(["lora_rank=4", "dataset=a,b", "template=qwen3", "seed=7"]).Options;
        var overrides = OptionsWriter.ToOverrides(options);
        Assert.Equal(["lora_rank=4", "dataset=a,b", "template=qwen3", "seed=7"], overrides);
        Assert.Equal(Snapshot(options), Snapshot(OptionsLoader.FromOverrides(overrides).Options));
    }

    [Fact]
    public void Command_line_preview_quotes_for_the_shell()
    {
        var options = OptionsLoader.FromOverrides(["model_name_or_path=models/demo", "dataset=a,b", "default_system=It's: fine"]).Options;
        Assert.Equal("llamaboard train model_name_or_path=models/demo dataset=a,b 'default_system=\"It'\\''s: fine\"'",
            OptionsWriter.ToCommandLine("train", options));
    }

    [Fact]
    public void Save_writes_the_file_atomically()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "nested", "run.yaml");
        var options = Busy();
        OptionsWriter.Save(options, path);
        OptionsWriter.Save(options, path);
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
        Assert.Equal(Snapshot(options), Snapshot(OptionsLoader.LoadFile(path).Options));
    }
}
