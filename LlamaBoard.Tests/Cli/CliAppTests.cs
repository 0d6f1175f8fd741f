using LlamaBoard.Cli;

namespace LlamaBoard.Tests.Cli;

/// <summary>The <c>llamaboard</c> command, run in-process with captured output.</summary>
public class CliAppTests
{
    static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Env_prints_the_device_report()
    {
        var (code, output, _) = Run("env");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("TorchSharp version", output);
        Assert.Contains("libtorch version", output);
        Assert.Contains("Default device", output);
        Assert.Contains("CPU bf16 support", output);
    }

    [Fact]
    public void Version_names_torchsharp()
    {
        var (code, output, _) = Run("version");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("TorchSharp 0.107.0", output);
    }

    [Fact]
    public void Unknown_command_is_a_usage_error()
    {
        var (code, _, error) = Run("tran");
        Assert.NotEqual(ExitCodes.Success, code);
        Assert.Contains("tran", error);
    }
}
