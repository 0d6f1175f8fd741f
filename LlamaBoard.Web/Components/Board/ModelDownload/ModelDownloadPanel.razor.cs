using System.Globalization;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The top bar's download line for a hub model that is not on this machine yet: what it would cost and a Download
/// button; while downloading, a progress bar with bytes, rate, time left and the current file, and Cancel; afterwards
/// the error (not found, gated, offline without the cache, disk full, …) with the button to try again. The download
/// itself runs in <see cref="ModelDownloads"/> (off the UI thread, shared by every browser tab); when it completes, the
/// snapshot folder goes to <see cref="Downloaded"/>.
/// </summary>
public partial class ModelDownloadPanel : IDisposable
{
    IDisposable? subscription;
    string? completedFor;

    [Inject] ModelDownloads Downloads { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The hub id to download (e.g. Qwen/Qwen2.5-0.5B-Instruct). Default: empty.</summary>
    [Parameter, EditorRequired] public string RepoId { get; set; } = "";

    /// <summary>Called with the snapshot folder when the download of <see cref="RepoId"/> completes. Default: none.</summary>
    [Parameter] public EventCallback<string> Downloaded { get; set; }

    ModelDownload? Current => string.IsNullOrEmpty(RepoId) ? null : Downloads.Find(RepoId);

    string NeededText => ModelCatalog.Find(RepoId) is { } entry
        ? L["DownloadNeededSize", RepoId, DownloadProgress.FormatBytes(entry.ApproximateDownloadBytes)]
        : L["DownloadNeeded", RepoId];

    /// <inheritdoc/>
    protected override void OnInitialized() =>
        // Progress arrives on the download's worker thread: marshal onto the circuit.
        subscription = Downloads.Subscribe(download =>
        {
            if (string.Equals(download.RepoId, RepoId, StringComparison.OrdinalIgnoreCase))
                _ = InvokeAsync(OnDownloadChangedAsync);
        });

    /// <inheritdoc/>
    protected override Task OnParametersSetAsync() => OnDownloadChangedAsync();

    async Task OnDownloadChangedAsync()
    {
        // A download finished here or in another browser tab: hand its folder over once.
        if (Current is { Status: ModelDownloadStatus.Completed, Folder: { } folder } && completedFor != RepoId)
        {
            completedFor = RepoId;
            await Downloaded.InvokeAsync(folder);
        }
        StateHasChanged();
    }

    void StartDownload()
    {
        completedFor = null;
        Downloads.Start(RepoId);
    }

    void Cancel() => Downloads.Cancel(RepoId);

    string Figures(DownloadProgress? p)
    {
        if (p is null || p.Phase == DownloadPhase.Resolving) return L["DownloadResolving", RepoId];
        string done = DownloadProgress.FormatBytes(p.BytesDone);
        string total = p.BytesTotal is { } t ? DownloadProgress.FormatBytes(t) : "?";
        string rate = DownloadProgress.FormatBytes(p.BytesPerSecond) + "/s";
        string eta = p.Eta is { } left ? FormatEta(left) : "—";
        return L["DownloadFigures", done, total, rate, eta, p.FilesDone, p.FilesTotal, p.CurrentFile ?? ""];
    }

    // Seconds under a minute (rounded up, so a running transfer never reads "0"), else m:ss or h:mm:ss.
    static string FormatEta(TimeSpan left) =>
        left.TotalSeconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, Math.Ceiling(left.TotalSeconds)):0} s")
        : left.TotalHours >= 1 ? left.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : left.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void Dispose() => subscription?.Dispose();
}
