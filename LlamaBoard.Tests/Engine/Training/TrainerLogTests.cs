using System.Text.Json.Nodes;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>trainer_log.jsonl and running_log.txt as LLaMA-Factory writes them.</summary>
public class TrainerLogTests
{
    [Theory]
    [InlineData(0, "0:00:00")]
    [InlineData(65, "0:01:05")]
    [InlineData(3 * 3600 + 7, "3:00:07")]
    [InlineData(86400 + 3723, "1 day, 1:02:03")]
    [InlineData(2 * 86400, "2 days, 0:00:00")]
    public void Durations_print_like_python_timedelta(int seconds, string expected) =>
        Assert.Equal(expected, TrainerLog.FormatDuration(TimeSpan.FromSeconds(seconds + 0.9)));

    [Fact]
    public void Step_and_eval_records_use_llama_factory_field_names_in_its_order()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lb-log-" + Guid.NewGuid().ToString("N"));
        try
        {
            var log = new TrainerLog(dir);
            log.Write(new TrainingStarted(LlamaBoard.Engine.Configuration.TrainingStage.Sft, 40, 1.0, 10, 100, "cpu", dir));
            log.Write(new StepCompleted(10, 40, 0.25, 1.234567, 5e-5, 0.5, 1234.567, 5120, 1 << 30, TimeSpan.FromSeconds(61), TimeSpan.FromSeconds(183)));
            log.Write(new StepCompleted(11, 40, 0.275, 1.2, 5e-5, 0.5, 1234.567, 5120, 1 << 30, TimeSpan.FromSeconds(62)), loggingSteps: 5);
            log.Write(new EvaluationCompleted(20, 0.98766, new Dictionary<string, double>()));
            log.Write(new TrainingLog(TrainingLogLevel.Info, "hello"));

            var lines = File.ReadAllLines(Path.Combine(dir, "trainer_log.jsonl"));
            Assert.Equal(2, lines.Length);
            var step = JsonNode.Parse(lines[0])!.AsObject();
            Assert.Equal(["current_steps", "total_steps", "loss", "lr", "epoch", "percentage", "elapsed_time", "remaining_time", "throughput", "total_tokens", "grad_norm"],
                         step.Select(kv => kv.Key));
            Assert.Equal(10, (long)step["current_steps"]!);
            Assert.Equal(1.2346, (double)step["loss"]!);
            Assert.Equal(25.0, (double)step["percentage"]!);
            Assert.Equal("0:01:01", (string)step["elapsed_time"]!);
            Assert.Equal("0:03:03", (string)step["remaining_time"]!);
            Assert.Equal(1234.57, (double)step["throughput"]!);
            var eval = JsonNode.Parse(lines[1])!.AsObject();
            Assert.Equal(0.9877, (double)eval["eval_loss"]!);
            Assert.False(eval.ContainsKey("loss"));

            string text = File.ReadAllText(Path.Combine(dir, "running_log.txt"));
            Assert.Contains("'loss': 1.2346", text);
            Assert.Contains("hello", text);
        }
        finally { Directory.Delete(dir, true); }
    }
}
