using Bunit;
using LlamaBoard.Web;
using LlamaBoard.Web.Components.Layout;
using LlamaBoard.Web.Components.Pages;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace LlamaBoard.Tests.Web;

/// <summary>The web shell: layout and home page rendered with bUnit, and the real host answering HTTP.</summary>
public class ShellTests
{
    [Fact]
    public async Task Layout_shows_the_app_bar_title()
    {
        await using var context = BoardTestContext.Create();
        var layout = context.Render<MainLayout>();
        Assert.Contains("LlamaBoard", layout.Find(".mud-appbar").TextContent);
    }

    [Fact]
    public async Task Home_reports_libtorch_ready()
    {
        await using var context = BoardTestContext.Create();
        var home = context.Render<Home>();
        Assert.Contains("libtorch is ready", home.Find(".runtime-ready").TextContent);
    }

    [Fact]
    public async Task Host_serves_the_board_page()
    {
        await using var factory = new WebApplicationFactory<RuntimeStatus>();
        using var client = factory.CreateClient();
        string html = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("<title>LlamaBoard</title>", html);
        Assert.Contains("_content/MudBlazor/MudBlazor.min.css", html);
    }

    [Fact]
    public void Default_address_is_loopback_port_7860()
    {
        string settings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var configuration = new ConfigurationBuilder().AddJsonFile(settings).Build();
        Assert.Equal("http://127.0.0.1:7860", configuration["Urls"]);
    }
}
