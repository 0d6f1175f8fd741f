using LlamaBoard.Engine.Runtime;
using MudBlazor.Services;

namespace LlamaBoard.Web;

/// <summary>Service registrations and the request pipeline, kept out of Program.cs.</summary>
public static class HostingExtensions
{
    /// <summary>Registers the board's services: Razor components, MudBlazor, the runtime status.</summary>
    public static IHostApplicationBuilder AddLlamaBoard(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddSingleton<RuntimeStatus>();
        return builder;
    }

    /// <summary>Configures the pipeline and checks libtorch once at start, logging a plain message if it fails.</summary>
    public static WebApplication UseLlamaBoard(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseAntiforgery();
        app.MapStaticAssets();

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
