using LlamaBoard.Engine.Runtime;
using LlamaBoard.Web.Services;
using LlamaBoard.Web.Settings;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace LlamaBoard.Web.Components.Layout;

/// <summary>
/// The footer: each device's name and the memory in use (GPU memory through NVML, else this process's resident
/// memory), read again every few seconds (<see cref="BoardSettings.FooterRefreshSeconds"/>) while the page is open.
/// </summary>
public partial class BoardFooter : IDisposable
{
    IReadOnlyList<DeviceReading> readings = [];
    readonly CancellationTokenSource closing = new();

    [Inject] DeviceMonitor Devices { get; set; } = default!;
    [Inject] IOptions<BoardSettings> Settings { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized() => readings = Devices.Read();

    /// <inheritdoc/>
    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender) _ = RefreshLoopAsync();
    }

    async Task RefreshLoopAsync()
    {
        var period = TimeSpan.FromSeconds(Math.Max(0.2, Settings.Value.FooterRefreshSeconds));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(closing.Token))
                await InvokeAsync(() =>
                {
                    readings = Devices.Read();
                    StateHasChanged();
                });
        }
        catch (OperationCanceledException)
        {
            // The page closed.
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        closing.Cancel();
        closing.Dispose();
        GC.SuppressFinalize(this);
    }
}
