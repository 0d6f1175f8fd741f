using LlamaBoard.Cli;
using LlamaBoard.Cli.Commands;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard keys</c> and <c>llamaboard webui</c>'s options.</summary>
public class KeysAndWebUiCommandTests
{
    [Fact]
    public void Keys_lists_matching_keys_with_type_and_default()
    {
        var (code, output, _) = Run("keys", "lora_r");
        Assert.Equal(ExitCodes.Success, code);
        var row = Assert.Single(output.Split('\n'), line => line.TrimStart().StartsWith("lora_rank ", StringComparison.Ordinal));
        Assert.Contains("integer", row);
        Assert.Contains(" 8 ", row);
        Assert.Contains("method", row);
        Assert.DoesNotContain("lora_alpha", output);
    }

    [Fact]
    public void Keys_all_includes_ignored_keys_with_the_reason()
    {
        Assert.Contains("No key contains 'deepspeed'.", Run("keys", "deepspeed").Output);
        var (code, output, _) = Run("keys", "deepspeed", "--all");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("ignored: LlamaBoard trains in one process on one device", output);
    }

    [Theory]
    [InlineData("127.0.0.1", 7860, "http://127.0.0.1:7860")]
    [InlineData("0.0.0.0", 8080, "http://0.0.0.0:8080")]
    [InlineData("::1", 7860, "http://[::1]:7860")]
    public void Board_url(string host, int port, string expected) => Assert.Equal(expected, WebUiCommand.BoardUrl(host, port));

    [Fact]
    public void Webui_defaults_to_loopback_7860()
    {
        var (_, output, _) = Run("webui", "--help");
        Assert.Contains("--host", output);
        Assert.Contains("--port", output);
        Assert.Contains("127.0.0.1", output);
        Assert.Contains("7860", output);
    }

    [Fact]
    public void Webui_beyond_loopback_without_a_token_refuses_with_a_plain_message()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("LLAMABOARD_TOKEN")), "unset LLAMABOARD_TOKEN to run this test");
        var (code, output, _) = Run("webui", "--host", "0.0.0.0", "--port", "7999");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("error: The board would listen on http://0.0.0.0:7999", output);
        Assert.Contains("LLAMABOARD_TOKEN", output);
    }
}
