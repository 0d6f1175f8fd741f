namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Downloads repositories from the Hugging Face hub or ModelScope into the local cache, with progress, resume,
/// checksum verification and offline use. One instance holds one connection pool; it is safe to use from several
/// threads and should be disposed when done.
/// </summary>
/// <example>
/// <code>
/// using var hub = new HubClient(HubOptions.FromEnvironment());
/// var snapshot = await hub.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"), HubFileFilter.ModelFiles, progress, ct);
/// // snapshot.Folder holds config.json, tokenizer.json, model.safetensors, …
/// </code>
/// </example>
public sealed class HubClient : IDisposable
{
    readonly HubHttp hfHttp;
    readonly HubHttp msHttp;
    readonly HfSnapshotDownloader hf;
    readonly ModelScopeDownloader ms;

    /// <summary>Creates a client. HTTP proxies are taken from the usual variables (HTTPS_PROXY, NO_PROXY).</summary>
    public HubClient(HubOptions options) : this(options, DiskErrors.FreeBytes)
    {
    }

    /// <summary>Creates a client with a replaced free-space probe (tests simulate a nearly full disk with it).</summary>
    internal HubClient(HubOptions options, Func<string, long?> freeSpace)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        hfHttp = new HubHttp(HubSite.For(HubSource.HuggingFace, options));
        msHttp = new HubHttp(HubSite.For(HubSource.ModelScope, options));
        hf = new HfSnapshotDownloader(hfHttp, options) { FreeSpace = freeSpace };
        ms = new ModelScopeDownloader(msHttp, options) { FreeSpace = freeSpace };
    }

    /// <summary>The options this client was made with.</summary>
    public HubOptions Options { get; }

    /// <summary>
    /// Brings the selected files of <paramref name="repo"/> (at <see cref="HubOptions.Revision"/>) into the cache
    /// of <see cref="HubOptions.Source"/> and returns where they are. Files already cached are not fetched again;
    /// an interrupted transfer resumes. Offline, or when the hub is unreachable, a complete cached copy is returned.
    /// </summary>
    /// <exception cref="HubException">The download failed; the message says why and what to do.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; partial files are kept for resuming.</exception>
    public Task<HubSnapshot> DownloadAsync(HubRepoId repo, HubFileFilter? filter = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken ct = default) =>
        Options.Source == HubSource.ModelScope
            ? ms.DownloadAsync(repo, filter ?? HubFileFilter.All, progress, ct)
            : hf.DownloadAsync(repo, filter ?? HubFileFilter.All, progress, ct);

    /// <summary>
    /// The cached copy of <paramref name="repo"/> if it is complete for <paramref name="filter"/> (default: the
    /// files a model load needs), without any network request; null when it is missing or incomplete. The board
    /// uses it to mark downloaded models in its dropdown.
    /// </summary>
    public async Task<HubSnapshot?> FindCachedAsync(HubRepoId repo, HubFileFilter? filter = null, CancellationToken ct = default)
    {
        var offline = Options with { Offline = true };
        try
        {
            return Options.Source == HubSource.ModelScope
                ? await new ModelScopeDownloader(msHttp, offline).DownloadAsync(repo, filter ?? HubFileFilter.ModelFiles, null, ct).ConfigureAwait(false)
                : await new HfSnapshotDownloader(hfHttp, offline).DownloadAsync(repo, filter ?? HubFileFilter.ModelFiles, null, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind is HubErrorKind.NotInCache or HubErrorKind.NoUsableFiles)
        {
            return null;
        }
    }

    /// <summary>
    /// Fetches a dataset named by a LLaMA-Factory <c>dataset_info.json</c> entry and returns its local folder. The
    /// source is chosen as LLaMA-Factory does: <paramref name="msHubUrl"/> when ModelScope is selected
    /// (<c>USE_MODELSCOPE_HUB</c>) or when there is no <paramref name="hfHubUrl"/>, else <paramref name="hfHubUrl"/>.
    /// <paramref name="folder"/> (the entry's <c>folder</c>) limits the download to that sub-folder.
    /// </summary>
    public Task<HubSnapshot> DownloadDatasetAsync(string? hfHubUrl, string? msHubUrl, string? folder = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        bool useMs = msHubUrl is not null && (Options.Source == HubSource.ModelScope || hfHubUrl is null);
        string id = (useMs ? msHubUrl : hfHubUrl)
                    ?? throw new HubException(HubErrorKind.InvalidRequest, "A hub dataset needs \"hf_hub_url\" or \"ms_hub_url\" in dataset_info.json.");
        var repo = new HubRepoId(id, HubRepoType.Dataset);
        var filter = string.IsNullOrEmpty(folder) ? HubFileFilter.All : new HubFileFilter { Include = [folder.Trim('/') + "/"] };
        return useMs ? ms.DownloadAsync(repo, filter, progress, ct) : hf.DownloadAsync(repo, filter, progress, ct);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        hfHttp.Dispose();
        msHttp.Dispose();
    }
}
