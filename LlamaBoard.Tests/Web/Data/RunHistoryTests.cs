using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web.Data;

/// <summary>The SQLite run history: migrations, WAL, restart persistence, listing.</summary>
public class RunHistoryTests
{
    static RunRecord Run(string name, RunStatus status, double? finalLoss, string model = "/models/a", int minutesAgo = 0) => new()
    {
        Name = name, ModelPath = model, Stage = "sft", FinetuningType = "lora", Datasets = "demo_sft", OptionsYaml = "stage: sft\n",
        Status = status, Device = "cpu", CreatedAt = DateTime.UtcNow.AddMinutes(-minutesAgo), OutputDir = "/out/" + name, FinalLoss = finalLoss,
        BestLoss = finalLoss,
    };

    [Fact]
    public async Task History_survives_a_restart_with_its_points_and_logs()
    {
        using var workspace = new TempWorkspace();
        int runId;
        await using (var services = await BoardTestContext.CreateServicesAsync(workspace))
        {
            var history = services.GetRequiredService<RunHistory>();
            runId = await history.AddAsync(Run("kept", RunStatus.Completed, 0.5));
            await history.AppendAsync(
                [
                    new MetricPoint { RunId = runId, Kind = MetricKind.Train, Step = 1, Epoch = 0.1, Loss = 2.5, LearningRate = 1e-4, TokensPerSecond = 900, ElapsedSeconds = 1.5, MemoryBytes = 123 },
                    new MetricPoint { RunId = runId, Kind = MetricKind.Train, Step = 2, Epoch = 0.2, Loss = 2.0, LearningRate = 9e-5, TokensPerSecond = 950, ElapsedSeconds = 3 },
                    new MetricPoint { RunId = runId, Kind = MetricKind.Eval, Step = 2, Loss = 2.2, MetricsJson = "{\"accuracy\":0.75}" },
                ],
                [new RunLogLine { RunId = runId, Sequence = 0, Time = DateTime.UtcNow, Level = "info", Message = "hello" }]);
        }
        SqliteConnection.ClearAllPools();

        await using (var services = await BoardTestContext.CreateServicesAsync(workspace))
        {
            var history = services.GetRequiredService<RunHistory>();
            var run = await history.GetAsync(runId);
            Assert.Equal("kept", run!.Name);
            Assert.Equal(RunStatus.Completed, run.Status);
            var timeline = await history.LoadTimelineAsync(runId);
            Assert.Equal([2.5, 2.0], timeline.Steps.Select(s => s.Loss));
            Assert.Equal(TimeSpan.FromSeconds(1.5), timeline.Steps[0].Elapsed);
            Assert.Equal(123, timeline.Steps[0].MemoryBytes);
            Assert.Null(timeline.Steps[1].MemoryBytes);
            var evaluation = Assert.Single(timeline.Evaluations);
            Assert.Equal(0.75, evaluation.Metrics["accuracy"]);
            Assert.Equal("hello", Assert.Single(timeline.Logs).Message);
        }
    }

    [Fact]
    public async Task The_database_uses_write_ahead_logging_and_the_migrations()
    {
        using var workspace = new TempWorkspace();
        await using var services = await BoardTestContext.CreateServicesAsync(workspace);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(workspace.Root, "llamaboard.db")}");
        await connection.OpenAsync();
        await using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)(await mode.ExecuteScalarAsync())!);
        await using var migrations = connection.CreateCommand();
        migrations.CommandText = "SELECT MigrationId FROM __EFMigrationsHistory";
        Assert.EndsWith("_InitialHistory", (string)(await migrations.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Runs_are_filtered_and_sorted()
    {
        using var workspace = new TempWorkspace();
        await using var services = await BoardTestContext.CreateServicesAsync(workspace);
        var history = services.GetRequiredService<RunHistory>();
        await history.AddAsync(Run("alpha", RunStatus.Completed, 0.9, minutesAgo: 3));
        await history.AddAsync(Run("beta", RunStatus.Failed, null, minutesAgo: 2));
        await history.AddAsync(Run("gamma", RunStatus.Completed, 0.4, model: "/models/b", minutesAgo: 1));

        Assert.Equal(["gamma", "beta", "alpha"], (await history.ListAsync(new RunQuery())).Select(r => r.Name));
        Assert.Equal(["alpha", "beta", "gamma"], (await history.ListAsync(new RunQuery(Descending: false))).Select(r => r.Name));
        Assert.Equal(["alpha", "gamma"], (await history.ListAsync(new RunQuery(Status: RunStatus.Completed, SortBy: RunSort.Name, Descending: false))).Select(r => r.Name));
        Assert.Equal(["gamma", "alpha", "beta"], (await history.ListAsync(new RunQuery(SortBy: RunSort.FinalLoss, Descending: false))).Select(r => r.Name));
        Assert.Equal(["gamma"], (await history.ListAsync(new RunQuery(Text: "MODELS/B"))).Select(r => r.Name));
        Assert.Equal(["beta"], (await history.ListAsync(new RunQuery(Text: "bet"))).Select(r => r.Name));
    }

    [Fact]
    public async Task Adapters_of_a_model_come_from_its_finished_lora_runs()
    {
        using var workspace = new TempWorkspace();
        await using var services = await BoardTestContext.CreateServicesAsync(workspace);
        var history = services.GetRequiredService<RunHistory>();
        string output = Path.Combine(workspace.Root, "saves", "run1");
        Directory.CreateDirectory(Path.Combine(output, "checkpoint-5"));
        File.WriteAllText(Path.Combine(output, "adapter_config.json"), "{}");
        File.WriteAllText(Path.Combine(output, "checkpoint-5", "adapter_config.json"), "{}");
        var done = Run("run1", RunStatus.Completed, 0.3, model: Path.Combine(workspace.Root, "models", "demo"));
        done.OutputDir = output;
        await history.AddAsync(done);
        var other = Run("other-model", RunStatus.Completed, 0.3, model: Path.Combine(workspace.Root, "models", "other"));
        other.OutputDir = output;
        await history.AddAsync(other);

        var adapters = await services.GetRequiredService<LlamaBoard.Web.Services.AdapterCatalog>()
            .ListAsync(Path.Combine(workspace.Root, "models", "demo") + "/");
        Assert.Equal([("run1", output), ("run1 / checkpoint-5", Path.Combine(output, "checkpoint-5"))], adapters.Select(a => (a.Label, a.Path)));
    }
}
