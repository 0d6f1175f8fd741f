using LlamaBoard.Cli;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard bench generate</c> on the tiny size (a smoke run: the figures are printed, not judged).</summary>
public class BenchGenerateCommandTests
{
    [Fact]
    public void Prints_time_to_first_token_and_decode_speed_per_dtype_and_batch()
    {
        var (code, output, error) = Run("bench", "generate", "--size", "tiny", "--prompt-tokens", "8", "--new-tokens", "4", "--repeats", "1");
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("llama tiny", output, StringComparison.Ordinal);
        foreach (string dtype in new[] { "fp32", "bf16" })
            foreach (string batch in new[] { " 1", " 8" })
                Assert.Matches($@"{dtype} batch {batch}: time to first token +\d+\.\d ms, decode +\d+\.\d tokens/s", output);
    }

    [Fact]
    public void Bad_arguments_are_configuration_errors()
    {
        var (code, _, error) = Run("bench", "generate", "--size", "huge");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("'huge'", error, StringComparison.Ordinal);
        (code, _, error) = Run("bench", "generate", "--size", "tiny", "--dtypes", "fp16");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("'fp16' is not fp32 or bf16", error, StringComparison.Ordinal);
        (code, _, error) = Run("bench", "generate", "--size", "tiny", "--batches", "0");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("--batches", error, StringComparison.Ordinal);
    }
}
