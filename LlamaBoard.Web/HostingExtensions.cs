using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Hubs;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Localization;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;
using LlamaBoard.Web.Settings;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MudBlazor.Services;

namespace LlamaBoard.Web;

/// <summary>Service registrations and the request pipeline, kept out of Program.cs.</summary>
public static class HostingExtensions
{
    /// <summary>Registers the board: settings, security, localisation, run history, jobs, the form's services, Razor components.</summary>
    public static IHostApplicationBuilder AddLlamaBoard(this IHostApplicationBuilder builder)
    {
        builder.AddBoardSettings();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddSignalR();
        builder.Services.AddSingleton<RuntimeStatus>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FailedAttempts>();
        builder.AddRequestLimits();
        builder.AddBoardLocalization();
        builder.AddRunHistory();
        builder.AddTrainingJobs();
        builder.AddBoardServices();
        return builder;
    }

    /// <summary>
    /// Binds <see cref="BoardSettings"/> (environment variables LLAMABOARD_WORKSPACE and LLAMABOARD_TOKEN override
    /// appsettings; the command line overrides both), the workspace, created when first needed, and the folders the
    /// board may touch (<see cref="BoardRoots"/>; LLAMABOARD_ROOTS replaces the configured list).
    /// </summary>
    public static IHostApplicationBuilder AddBoardSettings(this IHostApplicationBuilder builder)
    {
        var fromEnvironment = new Dictionary<string, string?>();
        if (Environment.GetEnvironmentVariable(BoardSettings.WorkspaceVariable) is { Length: > 0 } workspace)
            fromEnvironment[$"{BoardSettings.Section}:Workspace"] = workspace;
        if (Environment.GetEnvironmentVariable(BoardSettings.TokenVariable) is { Length: > 0 } token)
            fromEnvironment[$"{BoardSettings.Section}:AccessToken"] = token;
        if (fromEnvironment.Count > 0 && builder.Configuration is IConfigurationBuilder configuration)
        {
            // Insert before the command line so that --LlamaBoard:… still wins.
            var sources = configuration.Sources;
            int commandLine = sources.ToList().FindIndex(s => s is Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationSource);
            var memory = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = fromEnvironment };
            if (commandLine < 0) sources.Add(memory);
            else sources.Insert(commandLine, memory);
        }
        builder.Services.Configure<BoardSettings>(builder.Configuration.GetSection(BoardSettings.Section));
        builder.Services.AddSingleton(services => new BoardWorkspace(services.GetRequiredService<IOptions<BoardSettings>>().Value.Workspace));
        // The hub caches join the roots: a catalogue model the board downloads is used from its snapshot folder there.
        builder.Services.AddSingleton(services => BoardRoots.From(services.GetRequiredService<IOptions<BoardSettings>>().Value,
                                                                  services.GetRequiredService<BoardWorkspace>())
            .WithHubCaches(services.GetRequiredService<ModelDownloads>().Options));
        return builder;
    }

    /// <summary>English and Simplified Chinese through Resources/BoardText*.resx, chosen by a cookie (the top bar's switch).</summary>
    public static IHostApplicationBuilder AddBoardLocalization(this IHostApplicationBuilder builder)
    {
        builder.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        builder.Services.Configure<RequestLocalizationOptions>(options =>
        {
            options.SetDefaultCulture(BoardCultures.Default)
                .AddSupportedCultures(BoardCultures.Supported)
                .AddSupportedUICultures(BoardCultures.Supported);
            options.FallBackToParentUICultures = true;
            options.FallBackToParentCultures = true;
        });
        return builder;
    }

    /// <summary>The run history: EF Core on SQLite in the workspace (migrations applied at start-up).</summary>
    public static IHostApplicationBuilder AddRunHistory(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDbContextFactory<RunHistoryContext>((services, options) =>
            options.UseSqlite($"Data Source={services.GetRequiredService<BoardWorkspace>().DatabasePath}"));
        builder.Services.AddSingleton<RunHistory>();
        return builder;
    }

    /// <summary>The job service and its live channels, running the engine's <see cref="TrainingRunner"/>.</summary>
    public static IHostApplicationBuilder AddTrainingJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(new TrainerRegistration(() => new TrainingRunner()));
        builder.Services.AddSingleton<JobNotifier>();
        builder.Services.AddSingleton<JobQueue>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JobQueue>());
        builder.Services.AddHostedService<TrainingHubRelay>();
        return builder;
    }

    /// <summary>The form's helpers: catalogues of models, adapters and datasets, argument files, device readings, per-circuit form state.</summary>
    public static IHostApplicationBuilder AddBoardServices(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IModelCatalog, LocalModelCatalog>();
        builder.Services.TryAddSingleton(services => new ModelDownloads(ModelDownloads.OptionsFrom(services.GetRequiredService<IConfiguration>())));
        builder.Services.TryAddSingleton<IDatasetCatalog, DataWorkerCatalog>();
        builder.Services.AddSingleton<AdapterCatalog>();
        builder.Services.AddSingleton<ArgumentFiles>();
        builder.Services.AddSingleton<DeviceMonitor>();
        builder.Services.AddScoped<BoardState>();
        builder.Services.AddSingleton<ChatModelService>();
        builder.Services.AddScoped<ChatSession>();
        builder.Services.TryAddSingleton<LlamaBoard.Engine.Export.IModelExporter, LlamaBoard.Engine.Export.ModelExporter>();
        builder.Services.AddScoped<LlamaBoard.Web.Export.ExportSession>();
        builder.Services.AddScoped<LlamaBoard.Web.Evaluation.EvaluationSession>();
        return builder;
    }

    /// <summary>
    /// Refuses to listen beyond loopback without an access token (<see cref="BoardStartupException"/>), then configures
    /// the pipeline: the access-token gate first (when a token is set), localisation, static assets, the
    /// login page, the culture switch and the hub; applies the history's migrations; checks libtorch once.
    /// </summary>
    public static WebApplication UseLlamaBoard(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<BoardSettings>>().Value;
        ListenAddresses.EnsureSafe(ListenAddresses.FromConfiguration(app.Configuration), settings.AccessToken);
        app.UseMiddleware<SecurityHeaders>();
        app.UseBodyLimit(RequestLimits.BoardBodyBytes);
        if (!string.IsNullOrEmpty(settings.AccessToken))
            app.UseMiddleware<AccessTokenGate>(settings.AccessToken);
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseRequestLocalization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapLogin();
        app.MapCultureSwitch();
        app.MapHub<TrainingHub>(TrainingHub.Path);

        app.Services.GetRequiredService<RunHistory>().InitializeAsync().GetAwaiter().GetResult();
        var status = app.Services.GetRequiredService<RuntimeStatus>();
        if (status.Problem is { } problem)
            app.Logger.LogError("The board runs, but training and chat are disabled: {Problem}", problem);
        return app;
    }
}

/// <summary>Whether libtorch loaded in this process, checked once at start.</summary>
public sealed class RuntimeStatus
{
    /// <summary>Loads libtorch and records the outcome.</summary>
    public RuntimeStatus()
    {
        TorchRuntime.TryInitialize(out var problem);
        Problem = problem;
    }

    /// <summary>Null when libtorch is ready; else the cause and remedy in plain words.</summary>
    public string? Problem { get; }
}
