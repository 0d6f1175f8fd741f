using Bunit;
using LlamaBoard.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace LlamaBoard.Tests.Web;

/// <summary>
/// A bUnit context with the board's services. Use with <c>await using</c>: MudBlazor's services are only
/// asynchronously disposable, which xunit 2's synchronous test-class disposal cannot do.
/// </summary>
public static class BoardTestContext
{
    public static BunitContext Create()
    {
        Torch.EnsureReady();
        var context = new BunitContext();
        context.Services.AddMudServices();
        context.Services.AddSingleton<RuntimeStatus>();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        return context;
    }
}
