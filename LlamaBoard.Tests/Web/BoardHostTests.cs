using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web;

/// <summary>
/// <see cref="BoardHost"/>, which <c>llamaboard webui</c> runs: hosted from another program's folder in the
/// Production environment, it still serves the page, its styles and Blazor's script.
/// </summary>
public class BoardHostTests
{
    [Fact]
    public async Task Serves_the_page_and_its_assets_outside_development()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        await using var app = BoardHost.Build(["--urls", "http://127.0.0.1:0", "--environment", "Production", $"--LlamaBoard:Workspace={workspace.Root}"]);
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            string html = await client.GetStringAsync(new Uri("/", UriKind.Relative));
            Assert.Contains("<title>LlamaBoard</title>", html);
            foreach (string asset in new[] { "_framework/blazor.web.js", "_content/MudBlazor/MudBlazor.min.css", "_content/Plotly.Blazor/plotly-3.7.0.min.js", "favicon.svg", "app.css" })
            {
                using var response = await client.GetAsync(new Uri(asset, UriKind.Relative));
                Assert.True(response.IsSuccessStatusCode, $"{asset}: {(int)response.StatusCode}");
                // Package assets must have content outside Development too (not an empty 200).
                Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100, $"{asset} is empty");
            }
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
