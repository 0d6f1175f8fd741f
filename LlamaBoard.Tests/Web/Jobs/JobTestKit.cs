using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;

namespace LlamaBoard.Tests.Web.Jobs;

/// <summary>Options and waits shared by the job tests.</summary>
public static class JobTestKit
{
    /// <summary>Valid LoRA SFT options for a run writing under <paramref name="root"/>.</summary>
    public static LlamaBoardOptions Options(string root, string name, string device = "cpu")
    {
        var options = BoardState.WebDefaults();
        options.Model.ModelNameOrPath = Path.Combine(root, "models", "demo");
        options.Model.Device = device;
        options.Data.Dataset = ["demo_sft"];
        options.Data.Template = "qwen3";
        options.Training.OutputDir = Path.Combine(root, "saves", name);
        return options;
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), failing with <paramref name="what"/> after a timeout.</summary>
    public static async Task WaitFor(Func<bool> condition, string what, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Waits until the run's row in the history has <paramref name="status"/>.</summary>
    public static async Task<RunRecord> WaitForStatus(RunHistory history, int runId, RunStatus status, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var run = await history.GetAsync(runId);
            if (run?.Status == status) return run;
            if (run is { Status: RunStatus.Completed or RunStatus.Failed or RunStatus.Stopped or RunStatus.Interrupted })
                throw new InvalidOperationException($"run {runId} ended {run.Status}, expected {status}: {run.Error}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} is {run?.Status}, expected {status}");
            await Task.Delay(20);
        }
    }
}
