using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using Spectre.Console;
using System.Threading.Channels;

namespace LlamaBoard.Tests.Cli.Output;

/// <summary>The progress state, its status line, the live panel and the line-by-line display, driven by fake events.</summary>
public class TrainingProgressTests
{
    static StepCompleted Step(int step, int total, double seconds, TimeSpan? remaining = null, long? memory = 3L << 29) =>
        new(step, total, step / 10.0, 1.23456, 2.5e-5, null, 812.4, step * 100, memory, TimeSpan.FromSeconds(seconds), remaining);

    [Fact]
    public void Status_line_shows_every_metric()
    {
        var progress = new TrainingProgress();
        progress.Apply(Step(12, 40, 31));
        Assert.Equal("step 12/40 (30%) | epoch 1.20 | loss 1.2346 | lr 2.50e-05 | 812 tok/s | mem 1.5 GiB | elapsed 00:00:31 | eta 00:01:12",
            progress.StatusLine());
        Assert.Equal(0.3, progress.Fraction, 6);
    }

    [Fact]
    public void Eta_comes_from_the_runner_or_the_pace_so_far()
    {
        var progress = new TrainingProgress();
        progress.Apply(Step(2, 10, 10, memory: null));
        Assert.Equal(TimeSpan.FromSeconds(40), progress.Remaining);
        progress.Apply(Step(3, 10, 12, remaining: TimeSpan.FromHours(2)));
        Assert.Equal(TimeSpan.FromHours(2), progress.Remaining);
        Assert.EndsWith("eta 02:00:00", progress.StatusLine());
        Assert.Equal("--:--:--", new TrainingProgress().StatusLine().Split("eta ")[1]);
    }

    [Theory]
    [InlineData(100L, "0 KiB")]
    [InlineData(3L << 20, "3 MiB")]
    [InlineData(5L << 30, "5.0 GiB")]
    public void Memory_is_readable(long bytes, string expected) => Assert.Equal(expected, TrainingProgress.Bytes(bytes));

    [Fact]
    public void Only_recent_log_lines_are_kept()
    {
        var progress = new TrainingProgress();
        for (int i = 1; i <= 8; i++)
            progress.Apply(new TrainingLog(TrainingLogLevel.Info, $"line {i}"));
        Assert.Equal(["line 4", "line 5", "line 6", "line 7", "line 8"], progress.RecentLog);
    }

    [Fact]
    public void Live_panel_draws_the_bar_and_metrics()
    {
        var text = new StringWriter();
        var console = Consoles.For(text);
        var display = new TrainingDisplay(console, "stage sft, finetuning lora", 10);
        display.Progress.Apply(new TrainingStarted(TrainingStage.Sft, 10, 1, 10, 100, "cpu", "out"));
        display.Progress.Apply(Step(3, 10, 3));
        display.Progress.Apply(new EvaluationCompleted(3, 0.9876, new Dictionary<string, double>()));
        console.Write(display.Render());
        string[] lines = text.ToString().Split('\n');
        Assert.Equal("stage sft, finetuning lora", lines[0].TrimEnd());
        Assert.Equal(new string('━', 12) + new string('━', 28) + " 3/10", lines[1].TrimEnd());
        Assert.StartsWith("step 3/10 (30%) | epoch 0.30 | loss 1.2346", lines[2]);
        Assert.Equal("eval_loss 0.9876 at step 3", lines[3].TrimEnd());
        Assert.Contains("started 10 steps", text.ToString());
    }

    [Fact]
    public async Task Line_display_prints_a_status_every_logging_steps()
    {
        var text = new StringWriter();
        var display = new TrainingDisplay(Consoles.For(text), "t", logEvery: 5);
        var events = Channel.CreateUnbounded<TrainingEvent>();
        for (int step = 1; step <= 12; step++)
            events.Writer.TryWrite(Step(step, 12, step));
        events.Writer.TryWrite(new TrainingLog(TrainingLogLevel.Warning, "loss is nan"));
        events.Writer.Complete();
        await display.RunAsync(events.Reader);
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Equal(["step 1/12", "step 5/12", "step 10/12", "step 12/12", "warning: loss is nan"],
            lines.Select(l => l.StartsWith("step", StringComparison.Ordinal) ? l[..l.IndexOf(' ', 5)] : l));
    }
}
