using Bunit;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Components.Layout;
using LlamaBoard.Web.Settings;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web.Components;

public class FooterTests
{
    [Fact]
    public async Task Footer_shows_the_device_and_memory_and_refreshes_until_disposed()
    {
        using var workspace = new TempWorkspace();
        await using var context = await BoardTestContext.CreateAsync(workspace,
            configure: s => s.PostConfigure<BoardSettings>(settings => settings.FooterRefreshSeconds = 0.2));
        var footer = context.Render<BoardFooter>();
        Assert.Matches(@"^(CPU \(\d+ threads\)|GPU \d+: .+):\s+[\d.]+ (MiB|GiB|KiB)", footer.Find(".footer-device").TextContent.Trim());
        int renders = footer.RenderCount;
        footer.WaitForAssertion(() => Assert.True(footer.RenderCount >= renders + 2), TimeSpan.FromSeconds(5));

        footer.Instance.Dispose();
        await Task.Delay(300);
        int after = footer.RenderCount;
        await Task.Delay(600);
        Assert.Equal(after, footer.RenderCount);
    }
}
