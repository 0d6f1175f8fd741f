using Bunit;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using LlamaBoard.Web.Components.Layout;
using LlamaBoard.Web.Components.Pages;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace LlamaBoard.Tests.Web;

/// <summary>The web shell: layout and board page rendered with bUnit, and the real host answering HTTP.</summary>
public class ShellTests
{
    [Fact]
    public async Task Layout_shows_the_app_bar_title_navigation_and_footer()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace);
        var layout = context.Render<MainLayout>();
        var appBar = layout.Find(".mud-appbar");
        Assert.Contains("LlamaBoard", appBar.TextContent);
        Assert.Contains("Runs", layout.Find(".nav-runs").TextContent);
        Assert.Contains("in use", layout.Find(".board-footer").TextContent);
    }

    [Fact]
    public async Task Board_page_has_the_four_tabs_and_no_runtime_problem()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace);
        context.Render<MudBlazor.MudPopoverProvider>();
        var board = context.Render<BoardPage>();
        var tabs = board.FindAll(".mud-tab").Select(t => t.TextContent.Trim()).ToList();
        Assert.Equal(["Train", "Evaluate & Predict", "Chat", "Export"], tabs);
        Assert.Empty(board.FindAll(".runtime-problem"));
    }

    [Fact]
    public async Task Host_serves_the_board_page()
    {
        using var workspace = new TempWorkspace();
        await using var factory = new WebApplicationFactory<RuntimeStatus>()
            .WithWebHostBuilder(b => b.UseSetting("LlamaBoard:Workspace", workspace.Root));
        using var client = factory.CreateClient();
        string html = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("<title>LlamaBoard</title>", html);
        Assert.Contains("_content/MudBlazor/MudBlazor.min.css", html);
        Assert.True(File.Exists(Path.Combine(workspace.Root, "llamaboard.db")), "the history database is created on first start");
    }

    [Fact]
    public void Default_address_is_loopback_port_7860()
    {
        string settings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var configuration = new ConfigurationBuilder().AddJsonFile(settings).Build();
        Assert.Equal("http://127.0.0.1:7860", configuration["Urls"]);
    }
}
