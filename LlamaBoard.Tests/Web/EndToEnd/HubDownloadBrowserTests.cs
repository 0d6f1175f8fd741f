using LlamaBoard.Tests.Engine.Hub;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Tests.Web.Services;
using LlamaBoard.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static LlamaBoard.Tests.Web.EndToEnd.BoardBrowserTests;

namespace LlamaBoard.Tests.Web.EndToEnd;

/// <summary>
/// Issue 13's board scenario in Debian's Chromium against the app as shipped (real trainer), with the hub endpoint and
/// cache set through the app's configuration (<c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c>) to the fake hub: pick a
/// catalogue model, press Start, watch the download's progress bar move, then see the run train the downloaded model.
/// </summary>
public class HubDownloadBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Choosing_a_catalogue_model_downloads_it_with_progress_and_Start_trains_it()
    {
        Torch.EnsureReady();
        Directory.CreateDirectory(Shots);
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        // The demo model (qwen3 architecture, real tokenizer and weights) stands in for Qwen3-0.6B on the fake hub.
        string published = Path.Combine(bed.Root, "published");
        LlamaBoard.Engine.Models.DemoModel.EnsureCreated(published);
        var weights = HubBoardTestKit.PublishFolder(bed.Hub, "Qwen/Qwen3-0.6B", published);
        int holdAt = weights.Content.Length / 3;
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, holdAt);
        string data = Path.Combine(LlamaBoard.Tests.Engine.Configuration.ConfigTestKit.RepositoryRoot(), "data");

        await using var app = BoardHost.Build(
            ["--urls", "http://127.0.0.1:0", "--environment", "Production", $"--LlamaBoard:Workspace={workspace.Root}",
             $"--HF_ENDPOINT={bed.Hub.Endpoint}", $"--HF_HUB_CACHE={bed.CacheDir}", "--HF_HUB_DOWNLOAD_TIMEOUT=120",
             $"--LlamaBoard:Roots:0={workspace.Root}", $"--LlamaBoard:Roots:1={data}"]);
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchChromiumAsync(playwright);
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
            await page.GotoAsync(address);
            await WaitForCircuitAsync(page);

            // Pick the catalogue model: its hub id and chat template are filled in, and the Download line appears.
            await page.Locator(".top-bar .mud-select").First.ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "Qwen3-0.6B-Thinking" }).First.ClickAsync();
            await WaitForListClosedAsync(page);
            await page.WaitForSelectorAsync(".model-download[data-status='NotDownloaded']");
            await Shot(page, "29-hub-model-chosen");
            await page.WaitForFunctionAsync("() => document.querySelector('#opt-model_name_or_path').value === 'Qwen/Qwen3-0.6B'", null, new() { Timeout = 5000 });
            // The choice's handler ends by proposing an output folder named after the model (after its cache check and
            // adapter listing): wait for it, so no render of the choice lands while the next fields are typed.
            await page.WaitForFunctionAsync("() => document.querySelector('#opt-output_dir').value.includes('Qwen3-0.6B-Thinking')", null, new() { Timeout = 10000 });
            Assert.Contains("qwen3", await page.Locator(".top-bar [data-key='template']").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Empty(bed.Hub.Log);

            // A short LoRA SFT on the project's identity data: 8 samples, batch 2, one epoch = 4 steps.
            await FillShortIdentityRunAsync(page, data);

            // Start: the model downloads first (LlamaBoard downloads on first use); the bar shows the bytes so far.
            await page.ClickAsync(".btn-start");
            await page.WaitForSelectorAsync(".download-progress");
            await page.WaitForFunctionAsync($"() => Number(document.querySelector('.model-download')?.dataset.bytes) >= {holdAt}");
            string figures = await page.Locator(".download-figures").InnerTextAsync();
            output.WriteLine($"progress while held: {figures}");
            Assert.Matches(@" of \d+(\.\d+)? (kB|MB) · .+/s · .+ left · file \d+/\d+", figures);
            await Shot(page, "30-hub-download-progress");
            hold.SetResult();

            // Then the form names the cached snapshot and the run trains it to the end.
            await page.WaitForSelectorAsync(".run-monitor[data-status='Completed']", new() { Timeout = 180_000 });
            Assert.Equal("4", await page.Locator(".run-monitor").GetAttributeAsync("data-step"));
            string folder = await page.InputValueAsync("#opt-model_name_or_path");
            Assert.Contains(Path.Combine("models--Qwen--Qwen3-0.6B", "snapshots"), folder, StringComparison.Ordinal);
            Assert.Equal(weights.Content, await File.ReadAllBytesAsync(Path.Combine(folder, weights.Path)));
            Assert.Equal(0, await page.Locator(".model-download").CountAsync());
            await Shot(page, "31-hub-model-trained");
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
