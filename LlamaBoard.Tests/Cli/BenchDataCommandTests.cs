using LlamaBoard.Cli;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard bench data</c>, on a small run with the built-in tokenizer.</summary>
public class BenchDataCommandTests
{
    [Fact]
    public void Prints_throughput_and_cache_reload_time()
    {
        using var folder = new TempDataFolder();
        TinyTokenizer.Write(folder.Path);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["bench", "data", "--tokenizer", folder.Path, "--examples", "300", "--template", "qwen"], output, error);
        Assert.True(code == ExitCodes.Success, error.ToString());
        string text = output.ToString();
        Assert.Contains("examples            300", text);
        Assert.Matches(@"examples/s\s+[\d,]+", text);
        Assert.Matches(@"tokens/s\s+[\d,]+", text);
        Assert.Matches(@"cache-hit reload\s+\d+ ms", text);
    }

    [Fact]
    public void Bad_arguments_are_configuration_errors()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.BadConfiguration, CliApp.Run(["bench", "data", "--tokenizer", "/nonexistent"], new StringWriter(), error));
        Assert.Contains("does not exist", error.ToString());
        using var folder = new TempDataFolder();
        TinyTokenizer.Write(folder.Path);
        error = new StringWriter();
        Assert.Equal(ExitCodes.BadConfiguration, CliApp.Run(["bench", "data", "--tokenizer", folder.Path, "--template", "nope"], new StringWriter(), error));
        Assert.Contains("'nope' is unknown", error.ToString());
    }
}
