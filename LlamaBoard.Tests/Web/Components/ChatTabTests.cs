using Bunit;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Tests.Web.Chat;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>The Chat tab rendered with bUnit over the real chat engine: defaults, load, side-by-side streaming, clear, unload, errors.</summary>
public class ChatTabTests
{
    static async Task<(BunitContext Context, IRenderedComponent<ChatTab> Tab)> RenderAsync(TempWorkspace workspace)
    {
        var context = await BoardTestContext.CreateAsync(workspace);
        context.Render<MudPopoverProvider>();
        return (context, context.Render<ChatTab>());
    }

    static bool Disabled(IRenderedComponent<ChatTab> tab, string selector) => tab.Find(selector).HasAttribute("disabled");

    [Fact]
    public async Task Before_loading_only_Load_is_enabled_and_no_pane_is_shown()
    {
        using var workspace = new TempWorkspace();
        var (context, tab) = await RenderAsync(workspace);
        await using var _ = context;

        Assert.False(Disabled(tab, ".btn-load-model"));
        Assert.True(Disabled(tab, ".btn-unload-model"));
        Assert.True(Disabled(tab, ".btn-submit"));
        Assert.True(Disabled(tab, ".btn-stop"));
        Assert.True(Disabled(tab, ".btn-clear"));
        Assert.Empty(tab.FindAll(".chat-pane"));
        Assert.Contains("load the model", tab.Find(".chat-not-loaded").TextContent, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("false", tab.Find(".chat-tab").GetAttribute("data-loaded"));
    }

    [Fact]
    public async Task Load_then_a_message_streams_into_the_base_and_adapter_panes_then_clear_and_unload()
    {
        using var workspace = new TempWorkspace();
        var (context, tab) = await RenderAsync(workspace);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();
        var memorized = ChatSessionTests.MemorizedOptions();
        string adapter = AdapterFixtures.Write(memorized.Model.ModelNameOrPath!, Path.Combine(workspace.Root, "adapter"),
                                               ["q_proj", "v_proj"], rank: 4, dora: false, seed: 3);
        state.Replace(memorized);
        state.ChatAdapters = [adapter];

        tab.Find(".btn-load-model").Click();
        tab.WaitForState(() => tab.Find(".chat-tab").GetAttribute("data-loaded") == "true", TimeSpan.FromSeconds(60));
        Assert.Contains("1 adapter", tab.Find(".chat-loaded-info").TextContent, StringComparison.Ordinal);
        var titles = tab.FindAll(".chat-pane-title").Select(t => t.TextContent).ToList();
        Assert.Equal(2, titles.Count);
        Assert.Equal("adapter", titles[1]);

        tab.Find("#chat-message").Input("Say hello.");
        tab.Find(".btn-submit").Click();
        tab.WaitForState(() => tab.FindAll(".chat-stats").Count == 2, TimeSpan.FromSeconds(60));
        var basePane = tab.FindAll(".chat-pane")[0];
        Assert.Equal("Hello there! Goodbye now.", basePane.QuerySelector(".chat-answer")!.TextContent);
        Assert.Contains("A greeting is wanted.", basePane.QuerySelector(".chat-thought-text")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("Say hello.", basePane.QuerySelector(".chat-user")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("tokens", basePane.QuerySelector(".chat-stats")!.TextContent, StringComparison.Ordinal);
        // The adapter changes the model: its pane answers differently.
        var adapterPane = tab.FindAll(".chat-pane")[1];
        Assert.NotEqual(basePane.QuerySelector(".chat-answer")!.TextContent + basePane.QuerySelector(".chat-thought-text")?.TextContent,
                        adapterPane.QuerySelector(".chat-answer")!.TextContent + adapterPane.QuerySelector(".chat-thought-text")?.TextContent);
        // The send ends just after the last pane's stats render: Stop turns off with the next render.
        tab.WaitForState(() => Disabled(tab, ".btn-stop"), TimeSpan.FromSeconds(10));

        tab.Find(".btn-clear").Click();
        tab.WaitForState(() => tab.FindAll(".chat-exchange").Count == 0);

        tab.Find(".btn-unload-model").Click();
        tab.WaitForState(() => tab.Find(".chat-tab").GetAttribute("data-loaded") == "false", TimeSpan.FromSeconds(30));
        Assert.Empty(tab.FindAll(".chat-pane"));
        Assert.Null(context.Services.GetRequiredService<ChatModelService>().Current);
    }

    [Fact]
    public async Task A_model_that_cannot_load_shows_why()
    {
        using var workspace = new TempWorkspace();
        var (context, tab) = await RenderAsync(workspace);
        await using var _ = context;
        var state = context.Services.GetRequiredService<BoardState>();
        string missing = Path.Combine(workspace.Root, "no-such-model");
        state.Options.Model.ModelNameOrPath = missing;
        state.NotifyChanged();

        tab.Find(".btn-load-model").Click();
        tab.WaitForState(() => tab.FindAll(".chat-load-error").Count == 1, TimeSpan.FromSeconds(30));
        Assert.Contains("no-such-model", tab.Find(".chat-load-error").TextContent, StringComparison.Ordinal);
        Assert.Equal("false", tab.Find(".chat-tab").GetAttribute("data-loaded"));
    }
}
