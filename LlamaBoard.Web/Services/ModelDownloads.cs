using System.Collections.Concurrent;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Engine.Models;
using Microsoft.Extensions.Configuration;

namespace LlamaBoard.Web.Services;

/// <summary>Where a board download stands.</summary>
public enum ModelDownloadStatus
{
    /// <summary>Resolving or transferring files.</summary>
    Running,
    /// <summary>Every file is in the cache; <see cref="ModelDownload.Folder"/> is the snapshot folder.</summary>
    Completed,
    /// <summary>The download failed; <see cref="ModelDownload.Error"/> says why and what to do.</summary>
    Failed,
    /// <summary>The user cancelled; partial files stay in the cache and the next download resumes them.</summary>
    Cancelled,
}

/// <summary>
/// One model download started from the board, shared by every browser tab that shows the same hub id. Its fields
/// are written by the download's worker thread and read by components on render, so each is a single reference or
/// value read atomically; <see cref="ModelDownloads.Subscribe"/> tells when they change.
/// </summary>
public sealed class ModelDownload
{
    readonly CancellationTokenSource cancel = new();
    readonly TaskCompletionSource<string?> done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ModelDownload(string repoId) => RepoId = repoId;

    /// <summary>The hub id being downloaded.</summary>
    public string RepoId { get; }

    /// <summary>Where it stands.</summary>
    public ModelDownloadStatus Status { get; private set; } = ModelDownloadStatus.Running;

    /// <summary>The engine's latest progress report (bytes, rate, ETA, current file); null before the first.</summary>
    public DownloadProgress? Progress { get; private set; }

    /// <summary>The snapshot folder once <see cref="ModelDownloadStatus.Completed"/>.</summary>
    public string? Folder { get; private set; }

    /// <summary>What went wrong (the engine's sentence, which says what to do) when <see cref="ModelDownloadStatus.Failed"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>The kind of failure when the hub client named one.</summary>
    public HubErrorKind? ErrorKind { get; private set; }

    /// <summary>Completes with the snapshot folder, or null when the download failed or was cancelled; never faults.</summary>
    public Task<string?> Completion => done.Task;

    internal CancellationToken Token => cancel.Token;

    internal void Cancel() => cancel.Cancel();

    internal void Report(DownloadProgress progress) => Progress = progress;

    internal void Finish(ModelDownloadStatus status, string? folder, string? error, HubErrorKind? kind)
    {
        (Folder, Error, ErrorKind) = (folder, error, kind);
        Status = status;
        done.TrySetResult(folder);
    }
}

/// <summary>
/// Downloads hub models for the board, off the UI thread, one download per hub id at a time (a second request for the
/// same id joins the first), with the engine's progress events, cancellation and clear errors. The hub settings are
/// the engine's and CLI's (<see cref="HubOptions.FromEnvironment(Func{string, string?})"/>): <c>HF_ENDPOINT</c>,
/// <c>HF_TOKEN</c>, <c>HF_HUB_CACHE</c>, <c>HF_HUB_OFFLINE</c>, … read from the app's configuration (appsettings,
/// command line, environment variables), so a mirror or a test's fake hub is one setting away.
/// </summary>
public sealed class ModelDownloads
{
    readonly ConcurrentDictionary<string, ModelDownload> downloads = new(StringComparer.OrdinalIgnoreCase);
    readonly Lock listenersLock = new();
    volatile ImmutableListeners listeners = new([]);

    /// <summary>Downloads with <paramref name="options"/>.</summary>
    public ModelDownloads(HubOptions options) => Options = options;

    /// <summary>The hub settings every download uses.</summary>
    public HubOptions Options { get; }

    /// <summary>Hub settings from configuration keys named as the environment variables (configuration wins, then the environment).</summary>
    public static HubOptions OptionsFrom(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return HubOptions.FromEnvironment(name => configuration[name] ?? Environment.GetEnvironmentVariable(name));
    }

    /// <summary>
    /// Whether <paramref name="modelNameOrPath"/> names a hub model rather than a folder on this machine (or the demo
    /// model, which the trainer creates on first use).
    /// </summary>
    public static bool IsHubId(string? modelNameOrPath) =>
        modelNameOrPath is { Length: > 0 } text && !Directory.Exists(text.Trim()) && !HubModelResolver.LooksLikePath(text.Trim())
        && HubRepoId.IsValid(text.Trim()) && !DemoModel.IsDemoPath(text.Trim());

    /// <summary>The latest download of <paramref name="repoId"/> started on this board, or null.</summary>
    public ModelDownload? Find(string repoId) => downloads.GetValueOrDefault(repoId.Trim());

    /// <summary>
    /// The cached snapshot folder of <paramref name="repoId"/> when the cache holds a complete one (no network
    /// request), else null.
    /// </summary>
    public async Task<string?> CachedFolderAsync(string repoId, CancellationToken ct = default)
    {
        try
        {
            var snapshot = await Task.Run(() => HubModelResolver.ResolveSnapshotAsync(repoId.Trim(), Options with { Offline = true }, null, ct), ct)
                .ConfigureAwait(false);
            return snapshot?.Folder;
        }
        catch (HubException)
        {
            return null; // Not in the cache (or not a hub id): the user downloads it.
        }
    }

    /// <summary>
    /// Starts downloading <paramref name="repoId"/> (or returns the download already running for it). The work runs on
    /// the thread pool; listeners hear of every progress report and of the end.
    /// </summary>
    public ModelDownload Start(string repoId)
    {
        string id = repoId.Trim();
        while (true)
        {
            var current = downloads.GetValueOrDefault(id);
            if (current is { Status: ModelDownloadStatus.Running }) return current;
            var download = new ModelDownload(id);
            bool added = current is null ? downloads.TryAdd(id, download) : downloads.TryUpdate(id, download, current);
            if (!added) continue; // Another circuit started one at the same moment: join it.
            _ = Task.Run(() => RunAsync(download));
            Notify(download);
            return download;
        }
    }

    /// <summary>Cancels the running download of <paramref name="repoId"/>; its partial files stay and resume next time.</summary>
    public void Cancel(string repoId)
    {
        if (Find(repoId) is { Status: ModelDownloadStatus.Running } download) download.Cancel();
    }

    /// <summary>
    /// Calls <paramref name="listener"/> (on a worker thread) after each progress report and at the end of every
    /// download; dispose the result to stop.
    /// </summary>
    public IDisposable Subscribe(Action<ModelDownload> listener)
    {
        lock (listenersLock) listeners = new([.. listeners.Items, listener]);
        return new Subscription(this, listener);
    }

    async Task RunAsync(ModelDownload download)
    {
        var progress = new Reporter(p =>
        {
            download.Report(p);
            Notify(download);
        });
        try
        {
            string folder = await HubModelResolver.ResolveAsync(download.RepoId, Options, progress, download.Token).ConfigureAwait(false);
            download.Finish(ModelDownloadStatus.Completed, folder, null, null);
        }
        catch (OperationCanceledException)
        {
            download.Finish(ModelDownloadStatus.Cancelled, null, null, null);
        }
        catch (HubException e)
        {
            download.Finish(ModelDownloadStatus.Failed, null, e.Message, e.Kind);
        }
        catch (Exception e)
        {
            // The engine turns known failures into HubExceptions; anything else still ends the download (a waiting
            // Start must not hang) with the message, rather than vanishing into an unobserved task.
            download.Finish(ModelDownloadStatus.Failed, null, $"Downloading {download.RepoId} failed: {e.Message}", null);
        }
        Notify(download);
    }

    void Notify(ModelDownload download)
    {
        foreach (var listener in listeners.Items) listener(download);
    }

    void Unsubscribe(Action<ModelDownload> listener)
    {
        lock (listenersLock) listeners = new([.. listeners.Items.Where(l => l != listener)]);
    }

    // A snapshot of the listeners, replaced whole, so notifying never holds the lock.
    sealed record ImmutableListeners(Action<ModelDownload>[] Items);

    sealed class Subscription(ModelDownloads owner, Action<ModelDownload> listener) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) owner.Unsubscribe(listener);
        }
    }

    // Reports synchronously on the worker thread (Progress<T> would post to the circuit's context or the pool).
    sealed class Reporter(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
