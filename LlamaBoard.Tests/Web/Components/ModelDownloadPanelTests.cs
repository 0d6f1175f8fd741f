using Bunit;
using LlamaBoard.Tests.Engine.Hub;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Tests.Web.Services;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Components.Pages;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>
/// The top bar's hub download, rendered with bUnit against the fake hub: a hub id shows the Download line, the
/// progress bar shows bytes while the transfer runs, the finished download fills the model folder, errors and
/// cancellation are shown, a cached model is used at once, and Start downloads first, then trains.
/// </summary>
public class ModelDownloadPanelTests
{
    const string Id = "Qwen/Qwen3-0.6B";
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    static async Task<(BunitContext Context, IRenderedComponent<BoardPage> Page)> RenderAsync(
        TempWorkspace workspace, HubTestBed bed, FakeTrainingRunner? runner = null)
    {
        var context = await BoardTestContext.CreateAsync(workspace, runner, services => services.AddSingleton(new ModelDownloads(bed.Options())));
        context.Render<MudPopoverProvider>();
        return (context, context.Render<BoardPage>());
    }

    /// <summary>Clicks <paramref name="selector"/>; progress re-renders the panel often, so a click may meet a replaced handler: find it again.</summary>
    static async Task ClickAsync(IRenderedComponent<BoardPage> page, string selector)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await page.Find(selector).ClickAsync(new());
                return;
            }
            catch (Bunit.Rendering.UnknownEventHandlerIdException) when (attempt < 20)
            {
                await Task.Delay(10);
            }
        }
    }

    static string ModelPath(IRenderedComponent<BoardPage> page) => page.Find("#opt-model_name_or_path").GetAttribute("value") ?? "";

    [Fact]
    public async Task Defaults_a_hub_id_not_on_this_machine_offers_Download_with_the_catalogue_size()
    {
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        await using var context = await BoardTestContext.CreateAsync(workspace, null, s => s.AddSingleton(new ModelDownloads(bed.Options())));

        var panel = context.Render<ModelDownloadPanel>(p => p.Add(x => x.RepoId, Id));

        var root = panel.Find(".model-download");
        Assert.Equal("NotDownloaded", root.GetAttribute("data-status"));
        Assert.Equal("Qwen/Qwen3-0.6B is not on this machine yet (about 1.2 GB): it downloads from the hub when you press Download, or Start.",
                     panel.Find(".download-needed").TextContent);
        Assert.Single(panel.FindAll(".btn-download"));
        Assert.Empty(panel.FindAll(".download-progress"));
        Assert.Empty(panel.FindAll(".download-error"));
        Assert.Empty(bed.Hub.Log); // rendering alone never downloads
    }

    [Fact]
    public async Task Download_shows_progress_then_fills_the_model_folder()
    {
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        var weights = HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, 100_000);
        var (context, page) = await RenderAsync(workspace, bed);
        await using var _ = context;

        page.Find("#opt-model_name_or_path").Change(Id);
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".btn-download")), Wait);
        await page.Find(".btn-download").ClickAsync(new());

        page.WaitForAssertion(() => Assert.True(long.Parse(page.Find(".model-download").GetAttribute("data-bytes")!,
            System.Globalization.CultureInfo.InvariantCulture) >= 100_000), Wait);
        Assert.Single(page.FindAll(".download-progress"));
        Assert.Single(page.FindAll(".btn-download-cancel"));
        Assert.Matches(@"^\d+(\.\d+)? kB of 300\.04 kB · .+/s · .+ left · file \d/2", page.Find(".download-figures").TextContent);
        hold.SetResult();

        page.WaitForAssertion(() => Assert.Contains("models--Qwen--Qwen3-0.6B", ModelPath(page), StringComparison.Ordinal), Wait);
        Assert.Contains("qwen3 model", page.Find(".model-folder-ok").TextContent, StringComparison.Ordinal);
        Assert.Empty(page.FindAll(".model-download"));
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(ModelPath(page), "model.safetensors")));
    }

    [Fact]
    public async Task A_failed_download_shows_the_reason_and_Cancel_says_the_bytes_are_kept()
    {
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        var weights = HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, 50_000);
        var (context, page) = await RenderAsync(workspace, bed);
        await using var _ = context;

        page.Find("#opt-model_name_or_path").Change("org/no-such-model");
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".btn-download")), Wait);
        await page.Find(".btn-download").ClickAsync(new());
        page.WaitForAssertion(() => Assert.Contains("Download failed: Repository org/no-such-model was not found",
            page.Find(".download-error").TextContent, StringComparison.Ordinal), Wait);
        Assert.Equal("Failed", page.Find(".model-download").GetAttribute("data-status"));
        Assert.Single(page.FindAll(".btn-download")); // try again

        page.Find("#opt-model_name_or_path").Change(Id);
        page.WaitForAssertion(() => Assert.Equal("NotDownloaded", page.Find(".model-download").GetAttribute("data-status")), Wait);
        await page.Find(".btn-download").ClickAsync(new());
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".btn-download-cancel")), Wait);
        await ClickAsync(page, ".btn-download-cancel");
        page.WaitForAssertion(() => Assert.Equal("Cancelled", page.Find(".model-download").GetAttribute("data-status")), Wait);
        Assert.Contains("the next download resumes", page.Find(".download-cancelled").TextContent, StringComparison.Ordinal);
        Assert.Equal(Id, ModelPath(page));
        hold.SetResult();
    }

    [Fact]
    public async Task A_model_already_in_the_cache_is_used_at_once()
    {
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        string? cached = await new ModelDownloads(bed.Options()).Start(Id).Completion.WaitAsync(Wait);
        int requests = bed.Hub.Log.Count;
        var (context, page) = await RenderAsync(workspace, bed);
        await using var _ = context;

        page.Find("#opt-model_name_or_path").Change(Id);

        page.WaitForAssertion(() => Assert.Equal(cached, ModelPath(page)), Wait);
        Assert.Empty(page.FindAll(".model-download"));
        Assert.Equal(requests, bed.Hub.Log.Count);
    }

    [Fact]
    public async Task Start_downloads_a_hub_model_first_then_trains_it()
    {
        using var workspace = new TempWorkspace();
        await using var bed = await HubTestBed.StartAsync();
        var weights = HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, 100_000);
        var runner = new FakeTrainingRunner { TotalSteps = 4, StepDelay = TimeSpan.FromMilliseconds(5) };
        var (context, page) = await RenderAsync(workspace, bed, runner);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();
        state.Options.Model.ModelNameOrPath = Id;
        state.Options.Data.DatasetDir = workspace.MakeData();
        state.Options.Data.Dataset = ["demo_sft"];
        state.Options.Data.Template = "qwen3";
        await page.InvokeAsync(state.NotifyChanged);

        // Not downloaded yet is a warning, not an error: Start is allowed and downloads first.
        page.WaitForAssertion(() => Assert.False(page.Find(".btn-start").HasAttribute("disabled")), Wait);
        Assert.Contains("not on this machine yet", page.Find("[data-key='model_name_or_path']").TextContent, StringComparison.Ordinal);
        var start = page.Find(".btn-start").ClickAsync(new());
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".download-progress")), Wait);
        Assert.Contains("Downloading Qwen/Qwen3-0.6B before the run starts", page.Find(".train-notice").TextContent, StringComparison.Ordinal);
        Assert.True(page.Find(".btn-start").HasAttribute("disabled"));
        Assert.Empty(runner.Calls);
        hold.SetResult();
        await start.WaitAsync(Wait);

        page.WaitForAssertion(() => Assert.Equal("Completed", page.Find(".run-monitor").GetAttribute("data-status")), Wait);
        string trained = runner.Calls.Single().Model.ModelNameOrPath!;
        Assert.Contains(Path.Combine("models--Qwen--Qwen3-0.6B", "snapshots"), trained, StringComparison.Ordinal);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(trained, "model.safetensors")));
        Assert.Equal(trained, ModelPath(page));
    }
}
