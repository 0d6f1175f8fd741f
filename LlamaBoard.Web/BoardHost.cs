using LlamaBoard.Web.Components;

namespace LlamaBoard.Web;

/// <summary>
/// Builds and runs the board. Program.cs calls it, and so does <c>llamaboard webui</c>, which hosts the board
/// from the command-line tool's own folder.
/// </summary>
public static class BoardHost
{
    /// <summary>
    /// Builds the board's web application from command-line style arguments (<c>--urls</c>, <c>--environment</c>,
    /// <c>--LlamaBoard:Workspace=…</c>). <paramref name="configureServices"/> runs after the board's registrations, so
    /// it can replace them (tests inject a fake trainer there).
    /// </summary>
    /// <exception cref="Security.BoardStartupException">The settings are unsafe (beyond loopback without a token).</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // The board's assets and settings are named after this assembly, also when another program hosts it.
            ApplicationName = typeof(BoardHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // Serve the packages' files (_content/MudBlazor, _content/Plotly.Blazor) from the build output in every
        // environment, not only Development: `llamaboard webui` runs the board in Production from its build folder.
        builder.WebHost.UseStaticWebAssets();
        builder.AddLlamaBoard();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseLlamaBoard();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>Builds the board and serves it until the process is asked to stop.</summary>
    public static void Run(string[] args) => Build(args).Run();
}
