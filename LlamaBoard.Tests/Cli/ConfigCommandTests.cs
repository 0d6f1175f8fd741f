using LlamaBoard.Cli;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary>train, chat, export and api: configuration loading, validation messages and exit codes.</summary>
public class ConfigCommandTests
{
    [Theory]
    [InlineData("train", "train_lora/demo_lora_sft.yaml", "The trainer is not built yet")]
    [InlineData("chat", "inference/demo_lora_sft.yaml", "Terminal chat is not built yet")]
    [InlineData("api", "inference/demo_lora_sft.yaml", "The OpenAI-compatible API server is not built yet")]
    [InlineData("export", "merge_lora/demo_lora_sft.yaml", "Export is not built yet")]
    public void Valid_config_for_an_unbuilt_engine_part_says_so(string command, string example, string expected)
    {
        var (code, _, error) = Run(command, Example(example));
        Assert.Equal(ExitCodes.NotBuilt, code);
        Assert.Contains(expected + " in this version of LlamaBoard: the configuration is valid, but nothing was run.", error);
        Assert.DoesNotContain("error:", error);
    }

    [Fact]
    public void Check_validates_and_prints_the_options_in_effect()
    {
        string path = Example("train_lora/demo_lora_sft.yaml");
        var (code, output, error) = Run("train", path, "--check", "lora_rank=16");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Contains($"{path} is valid (0 warnings): stage sft, finetuning lora, model models/demo, dataset identity,alpaca_demo,sharegpt_demo, output saves/demo/lora/sft", output);
        Assert.Contains("### method\ndo_train: true\nlora_rank: 16\n", output);
    }

    [Fact]
    public void Train_runs_from_key_value_settings_alone()
    {
        var options = LlamaBoard.Engine.Configuration.OptionsLoader.LoadFile(Example("train_lora/demo_lora_sft.yaml")).Options;
        string[] preview = [.. LlamaBoard.Engine.Configuration.OptionsWriter.ToOverrides(options)];
        var (code, output, error) = Run(["train", .. preview, "--check"]);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.StartsWith("the command line is valid (0 warnings): stage sft, finetuning lora, model models/demo", output);
    }

    [Fact]
    public void Bad_values_exit_with_bad_configuration_and_exact_messages()
    {
        string path = Example("train_lora/demo_lora_sft.yaml");
        var (code, output, error) = Run("train", path, "lora_rank=0", "stage=sftt");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Equal(
            "error: command line: stage: 'sftt' is not allowed; allowed values: pt, sft, rm, ppo, dpo, kto (did you mean 'sft'?)\n" +
            "error: command line: lora_rank: 0 is not allowed; it must be at least 1\n" +
            $"2 errors in {path}; nothing was run.\n", error.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal("", output);
    }

    [Fact]
    public void Unknown_key_in_a_file_suggests_the_known_one()
    {
        string file = Path.Combine(Path.GetTempPath(), $"llamaboard-cli-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "model_name_or_path: models/demo\nlora_rnak: 8\n");
        try
        {
            var (code, _, error) = Run("chat", file);
            Assert.Equal(ExitCodes.BadConfiguration, code);
            Assert.Contains($"error: {file}:2: lora_rnak: unknown key; did you mean lora_rank?", error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Missing_file_is_bad_configuration()
    {
        var (code, _, error) = Run("export", "/no/such/file.yaml");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Equal("error: /no/such/file.yaml: config file '/no/such/file.yaml' does not exist\n1 error in /no/such/file.yaml; nothing was run.\n",
            error.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Warnings_are_printed_but_do_not_stop_the_command()
    {
        var (code, _, error) = Run("train", Example("train_lora/demo_lora_sft.yaml"), "ddp_timeout=180000000", "--check");
        Assert.Equal(ExitCodes.Success, code);
        Assert.StartsWith("warning: command line: ddp_timeout: 180000000 is ignored; ", error);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("chat")]
    [InlineData("export")]
    [InlineData("api")]
    [InlineData("webui")]
    [InlineData("keys")]
    [InlineData("env")]
    [InlineData("version")]
    public void Help_is_available_for_every_command(string command)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(ExitCodes.Success, code);
        // The program's name on the usage line is the test host's here, "llamaboard" when installed.
        string usage = output.Split('\n').SkipWhile(line => !line.StartsWith("Usage:", StringComparison.Ordinal)).ElementAt(1);
        Assert.Contains($" {command}", usage);
    }

    [Fact]
    public void Usage_errors_are_bad_configuration()
    {
        Assert.Equal(ExitCodes.BadConfiguration, Run("tran").Code);
        Assert.Equal(ExitCodes.BadConfiguration, Run("train").Code); // the config argument is missing
        Assert.Equal(ExitCodes.BadConfiguration, Run().Code);
    }
}
