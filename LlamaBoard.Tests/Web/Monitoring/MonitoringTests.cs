using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Monitoring;

namespace LlamaBoard.Tests.Web.Monitoring;

public class MonitoringTests
{
    [Fact]
    public void Smoothing_is_LLaMA_Factorys_length_weighted_moving_average()
    {
        double[] values = [4, 2, 3, 1];
        double weight = 1.8 * (1 / (1 + Math.Exp(-0.05 * 4)) - 0.5);
        double last = 4;
        var expected = values.Select(v => last = last * weight + (1 - weight) * v).ToArray();
        Assert.Equal(expected, LossSmoothing.Smooth(values));
        Assert.Empty(LossSmoothing.Smooth([]));
        // A long flat curve stays flat; a short one is barely smoothed (the weight is near 0 for one point).
        Assert.All(LossSmoothing.Smooth(Enumerable.Repeat(1.5, 500).ToList()), v => Assert.Equal(1.5, v, 12));
        Assert.Equal([7.0], LossSmoothing.Smooth([7.0]));
    }

    [Fact]
    public void Remaining_time_uses_the_runners_estimate_or_the_pace_since_the_start_step()
    {
        var timeline = new RunTimeline { TotalSteps = 100, StartStep = 50 };
        timeline.Steps.Add(new StepCompleted(60, 100, 0.6, 1, 1e-4, null, 10, 10, null, TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromSeconds(80), timeline.Remaining);
        timeline.Steps.Add(new StepCompleted(61, 100, 0.61, 1, 1e-4, null, 10, 10, null, TimeSpan.FromSeconds(22), TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.FromSeconds(5), timeline.Remaining);
        Assert.Null(new RunTimeline().Remaining);
    }

    [Fact]
    public void The_log_keeps_the_latest_lines()
    {
        var timeline = new RunTimeline();
        for (int i = 0; i < RunTimeline.MaxLogLines + 10; i++)
            timeline.AddLog(new LogEntry(DateTime.UtcNow, "info", $"line {i}"));
        Assert.Equal(RunTimeline.MaxLogLines, timeline.Logs.Count);
        Assert.Equal("line 10", timeline.Logs[0].Message);
    }
}
