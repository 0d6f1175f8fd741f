using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Engine.Configuration;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using static LlamaBoard.Tests.Web.Jobs.JobTestKit;

namespace LlamaBoard.Tests.Web.Jobs;

/// <summary>The job service with the engine's real trainer: LoRA SFT of the demo model on the project's demo data.</summary>
public class RealTrainerTests
{
    [Fact]
    public async Task The_board_runs_the_real_trainer_and_records_the_run_and_its_adapter()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        string model = Path.Combine(workspace.Root, "models", "demo");
        DemoModel.EnsureCreated(model);
        await using var services = await BoardTestContext.CreateServicesAsync(workspace, new TrainingRunner());
        var queue = services.GetRequiredService<JobQueue>();
        var history = services.GetRequiredService<RunHistory>();
        await queue.StartAsync(CancellationToken.None);

        var options = Options(workspace.Root, "real");
        options.Model.ModelNameOrPath = model;
        options.Data.DatasetDir = Path.Combine(ConfigTestKit.RepositoryRoot(), "data");
        options.Data.Dataset = ["identity"];
        options.Data.CutoffLen = 128;
        options.Data.MaxSamples = 16;
        options.Training.MaxSteps = 4;
        options.Training.PerDeviceTrainBatchSize = 2;
        options.Training.GradientAccumulationSteps = 1;
        options.Training.LoggingSteps = 1;
        options.Training.SaveSteps = 2;
        options.Training.LearningRate = 1e-3;
        var job = await queue.EnqueueAsync(options);
        RunRecord run;
        try
        {
            run = await WaitForStatus(history, job.RunId, RunStatus.Completed, timeoutMs: 120_000);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(e.Message + " [" + string.Join(", ", Directory.EnumerateFileSystemEntries(options.Training.OutputDir!)) + "]");
        }

        Assert.Equal(4, run.Step);
        Assert.True(double.IsFinite(run.FinalLoss!.Value) && run.FinalLoss > 0, $"final loss {run.FinalLoss}");
        var timeline = await history.LoadTimelineAsync(job.RunId);
        Assert.Equal([1, 2, 3, 4], timeline.Steps.Select(s => s.Step));
        Assert.All(timeline.Steps, s => Assert.True(s.TokensPerSecond > 0));
        Assert.NotNull(run.LastCheckpoint);
        Assert.True(File.Exists(Path.Combine(options.Training.OutputDir!, "adapter_config.json")), "the LoRA adapter was saved");

        // The finished run's adapter is offered for this model.
        var adapters = await services.GetRequiredService<AdapterCatalog>().ListAsync(model);
        Assert.Contains(adapters, a => a.Path == options.Training.OutputDir);
        await queue.StopAsync(CancellationToken.None);
    }
}
