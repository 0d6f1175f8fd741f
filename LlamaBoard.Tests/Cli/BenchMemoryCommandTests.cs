using System.Globalization;
using LlamaBoard.Cli;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Training;

namespace LlamaBoard.Tests.Cli;

/// <summary>
/// <c>llamaboard bench memory</c> runs end to end on a tiny model: each method trains in its own process and gets a row
/// with its estimate and measured peak (the figures themselves are not asserted beyond being plausible: it is a benchmark).
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class BenchMemoryCommandTests
{
    [Fact]
    public void Each_method_gets_a_row_with_estimate_measured_peak_speed_and_loss()
    {
        Torch.EnsureReady();
        using var dir = new TempDirectory();
        ModelScaffold.Create(new ModelScaffoldOptions("qwen2", new ModelShape(64, 2, 4, 2, 128, 512), dir.Path) { Seed = 5 });
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["bench", "memory", "--model", dir.Path, "--methods", "full,galore,qlora4", "--steps", "2", "--batch", "1", "--cutoff", "32"], output, error);
        string text = output.ToString();
        Assert.True(code == ExitCodes.Success, text + error);
        Assert.DoesNotContain("failed", text);
        foreach (string method in new[] { "full", "galore", "qlora4" })
        {
            var row = text.Split('\n').Single(l => l.TrimStart().StartsWith(method + " ", StringComparison.Ordinal));
            var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // method, trainable, estimate (value unit), measured (value unit), error, tokens/s, loss, ppl
            Assert.True(long.Parse(cells[1], NumberStyles.AllowThousands, CultureInfo.InvariantCulture) > 0, row);
            Assert.Matches(@"^[+-]\d+%$", cells[6]);
            double loss = double.Parse(cells[8], CultureInfo.InvariantCulture);
            Assert.InRange(loss, 0.1, 20);
        }
        Assert.Contains("error = (estimate − measured) / measured", text);
        Assert.Contains("estimate within ±25% of the measured peak:", text);
        Assert.Contains("ordering of measured peaks, QLoRA < LoRA/freeze/GaLore < full (as in the paper):", text);
    }

    [Fact]
    public void An_unknown_method_is_a_usage_error_listing_the_methods()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.BadConfiguration, CliApp.Run(["bench", "memory", "--methods", "lora,dora"], new StringWriter(), error));
        Assert.Contains("'dora' is not one of full, freeze, galore, badam, lora, qlora4, qlora8", error.ToString());
    }
}
