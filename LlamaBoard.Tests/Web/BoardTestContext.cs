using Bunit;
using LlamaBoard.Engine.Training;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;
using LlamaBoard.Web.Settings;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor.Services;

namespace LlamaBoard.Tests.Web;

/// <summary>
/// The board's services for tests, as the app registers them, over a temporary workspace (its own SQLite file) and an
/// optional fake trainer. Use contexts with <c>await using</c>: MudBlazor's services are only asynchronously disposable,
/// which xunit 2's synchronous test-class disposal cannot do.
/// </summary>
public static class BoardTestContext
{
    /// <summary>Registers the board's services on <paramref name="services"/>.</summary>
    public static IServiceCollection AddBoardForTests(this IServiceCollection services, string workspace, ITrainingRunner? runner = null)
    {
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddOptions<BoardSettings>().Configure(s => s.Workspace = workspace);
        services.AddLocalization(options => options.ResourcesPath = "Resources");
        var board = new BoardWorkspace(workspace);
        services.AddSingleton(board);
        services.AddSingleton(provider => Roots(board).WithHubCaches(provider.GetRequiredService<ModelDownloads>().Options));
        services.AddDbContextFactory<RunHistoryContext>(options => options.UseSqlite($"Data Source={board.DatabasePath}"));
        services.AddSingleton<RunHistory>();
        services.AddSingleton(new TrainerRegistration(runner is null ? null : () => runner));
        services.AddSingleton<JobNotifier>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton<IModelCatalog, LocalModelCatalog>();
        // No hub in these tests unless one replaces this: a closed loopback port, and a cache inside the workspace.
        services.TryAddSingleton(new ModelDownloads(new LlamaBoard.Engine.Hub.HubOptions
        {
            Endpoint = "http://127.0.0.1:9", CacheDir = Path.Combine(workspace, "hf-cache"), Offline = false,
        }));
        services.AddSingleton<IDatasetCatalog, DataWorkerCatalog>();
        services.AddSingleton<AdapterCatalog>();
        services.AddSingleton<ArgumentFiles>();
        services.AddSingleton<DeviceMonitor>();
        services.AddSingleton<RuntimeStatus>();
        services.AddScoped<BoardState>();
        services.AddSingleton<ChatModelService>();
        services.AddScoped<ChatSession>();
        services.TryAddSingleton<LlamaBoard.Engine.Export.IModelExporter, LlamaBoard.Engine.Export.ModelExporter>();
        services.AddScoped<LlamaBoard.Web.Export.ExportSession>();
        services.AddScoped<LlamaBoard.Web.Evaluation.EvaluationSession>();
        return services;
    }

    /// <summary>The shared folder of test fixtures (temporary workspaces, the memorized chat model).</summary>
    public static string FixturesRoot => Path.Combine(Path.GetTempPath(), "llamaboard-tests");

    /// <summary>The roots the test board uses: the board's defaults and <see cref="FixturesRoot"/>; confinement tests replace them.</summary>
    public static BoardRoots Roots(BoardWorkspace workspace) => new([.. BoardRoots.Defaults(workspace), FixturesRoot]);

    /// <summary>A bUnit context with the board's services; the history is migrated and the job service started.</summary>
    public static async Task<BunitContext> CreateAsync(TempWorkspace workspace, ITrainingRunner? runner = null,
                                                       Action<IServiceCollection>? configure = null)
    {
        Torch.EnsureReady();
        var context = new BunitContext();
        context.Services.AddMudServices();
        context.Services.AddBoardForTests(workspace.Root, runner);
        configure?.Invoke(context.Services);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        await context.Services.GetRequiredService<RunHistory>().InitializeAsync();
        await context.Services.GetRequiredService<JobQueue>().StartAsync(CancellationToken.None);
        return context;
    }

    /// <summary>A plain service provider with the board's services (job and history tests), history migrated.</summary>
    public static async Task<ServiceProvider> CreateServicesAsync(TempWorkspace workspace, ITrainingRunner? runner = null)
    {
        var services = new ServiceCollection().AddBoardForTests(workspace.Root, runner).BuildServiceProvider();
        await services.GetRequiredService<RunHistory>().InitializeAsync();
        return services;
    }
}
