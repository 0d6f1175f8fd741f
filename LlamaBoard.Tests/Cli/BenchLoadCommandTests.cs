using LlamaBoard.Cli;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard bench load</c> runs end to end on a tiny checkpoint (its figures are not asserted: it is a benchmark).</summary>
public class BenchLoadCommandTests
{
    [Fact]
    public void Bench_load_creates_then_reuses_a_checkpoint_and_reports_times_and_memory()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        string keep = dir.File("bench");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["bench", "load", "--size", "tiny", "--keep", keep], output, error);
        Assert.True(code == ExitCodes.Success, error.ToString());
        string text = output.ToString();
        Assert.Contains("Creating a random tiny qwen2 checkpoint", text);
        Assert.Contains("read once (FileStream)", text);
        Assert.Contains("x read (target <= 1.5)", text);
        Assert.Contains("peak resident memory", text);
        Assert.True(File.Exists(Path.Combine(keep, "model.safetensors")));

        output = new StringWriter();
        Assert.Equal(ExitCodes.Success, CliApp.Run(["bench", "load", "--size", "tiny", "--keep", keep], output, error));
        Assert.Contains("Reusing the checkpoint", output.ToString());
    }

    [Fact]
    public void An_unknown_size_is_a_usage_error_listing_the_sizes()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.BadConfiguration, CliApp.Run(["bench", "load", "--size", "70b"], new StringWriter(), error));
        Assert.Contains("0.5b", error.ToString());
    }
}
