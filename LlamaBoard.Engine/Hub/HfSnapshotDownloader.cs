namespace LlamaBoard.Engine.Hub;

/// <summary>
/// huggingface_hub's <c>snapshot_download</c>: resolve the revision to a commit, list the commit's files, fetch the
/// selected ones that the cache lacks (HEAD for each file's etag and CDN location, then parallel transfers into
/// <c>blobs/</c>), and link them into <c>snapshots/{commit}/</c>. Offline, or when the hub cannot be reached, a
/// complete cached snapshot is used instead (its completeness judged by the cached <c>trees/{commit}.json</c>).
/// </summary>
internal sealed class HfSnapshotDownloader
{
    readonly HubOptions options;
    readonly HfApi api;
    readonly BlobTransfer transfer;
    readonly HfCacheLayout cache;

    public HfSnapshotDownloader(HubHttp http, HubOptions options)
    {
        this.options = options;
        api = new HfApi(http, options);
        transfer = new BlobTransfer(http, options);
        cache = new HfCacheLayout(options.CacheDir);
    }

    /// <summary>Free space of a folder's volume; replaceable so tests can simulate a nearly full disk.</summary>
    internal Func<string, long?> FreeSpace { get; init; } = DiskErrors.FreeBytes;

    public async Task<HubSnapshot> DownloadAsync(HubRepoId repo, HubFileFilter filter, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string revision = options.RevisionFor(HubSource.HuggingFace);
        using var tracker = new ProgressTracker(repo.Id, progress);
        tracker.Resolving();
        if (options.Offline) return FromCache(repo, revision, filter, tracker, null);

        string commit;
        IReadOnlyList<string> siblings = [];
        try
        {
            // A commit hash needs no lookup (huggingface_hub skips repo_info for it too).
            if (HfCacheLayout.IsCommitHash(revision)) commit = revision;
            else (commit, siblings) = await api.RevisionInfoAsync(repo, revision, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.NoNetwork || e.StatusCode >= 500)
        {
            return FromCache(repo, revision, filter, tracker, e);
        }

        var listing = cache.ReadTree(repo, commit);
        bool listed = listing is null;
        listing ??= await api.ListTreeAsync(repo, commit, ct).ConfigureAwait(false)
                    ?? siblings.Select(s => new HubFileEntry(s, null, null, null)).ToList();
        // Before the listing is kept or any of its paths is used: a hostile listing must not reach the disk.
        HubListingPaths.EnsureContained(listing.Select(f => f.Path), repo, listed ? "The Hugging Face hub" : "The cached Hugging Face listing");
        if (listed) cache.WriteTree(repo, commit, listing);
        cache.WriteRef(repo, revision, commit);
        var entries = listing.ToDictionary(f => f.Path, StringComparer.Ordinal);

        // A sharded model's weight files are named inside its index, so the index comes first (silently: it is small).
        var indexTracker = Silent(repo);
        if (filter.ModelFilesOnly && entries.ContainsKey(HubFileFilter.SafetensorsIndex) &&
            HfCacheLayout.Resolve(cache.PointerPath(repo, commit, HubFileFilter.SafetensorsIndex)) is null)
            await FetchAsync(repo, commit, [HubFileFilter.SafetensorsIndex], entries, indexTracker, ct).ConfigureAwait(false);
        var selected = Select(repo, commit, filter, entries.Keys);

        await FetchAsync(repo, commit, selected, entries, tracker, ct).ConfigureAwait(false);
        tracker.Completed();
        return new HubSnapshot(repo, HubSource.HuggingFace, cache.SnapshotFolder(repo, commit), commit, selected,
            tracker.Transferred + indexTracker.Transferred, false);
    }

    IReadOnlyList<string> Select(HubRepoId repo, string commit, HubFileFilter filter, IReadOnlyCollection<string> paths)
    {
        var selected = filter.Select(paths, p => ReadPointer(repo, commit, p), repo.ToString());
        if (selected.Count == 0)
            throw new HubException(HubErrorKind.InvalidRequest, paths.Count == 0
                ? $"{repo} has no files at commit {commit}."
                : $"No file of {repo} matches the selection ({Describe(filter)}). Its files include: {string.Join(", ", paths.Take(12))}{(paths.Count > 12 ? ", …" : "")}.");
        return selected;
    }

    string? ReadPointer(HubRepoId repo, string commit, string path)
    {
        return HfCacheLayout.Resolve(cache.PointerPath(repo, commit, path)) is { } file ? File.ReadAllText(file.FullName) : null;
    }

    /// <summary>Brings <paramref name="paths"/> into the snapshot, downloading the blobs the cache lacks.</summary>
    async Task FetchAsync(HubRepoId repo, string commit, IReadOnlyList<string> paths, Dictionary<string, HubFileEntry> entries,
        ProgressTracker tracker, CancellationToken ct)
    {
        var cached = paths.Where(p => HfCacheLayout.Resolve(cache.PointerPath(repo, commit, p)) is not null).ToList();
        var missing = paths.Except(cached).ToList();

        // HEAD each missing file (bounded parallelism): its etag names the blob, its size and CDN location drive the transfer.
        var metadata = new HfFileMetadata[missing.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, missing.Count), Parallelism(ct), async (i, token) =>
            metadata[i] = await api.HeadAsync(repo, commit, missing[i], token).ConfigureAwait(false)).ConfigureAwait(false);

        long cachedBytes = cached.Sum(p => HfCacheLayout.Resolve(cache.PointerPath(repo, commit, p))!.Length);
        var blobs = missing.Select((path, i) => (Path: path, Meta: metadata[i])).GroupBy(x => x.Meta.Etag, StringComparer.Ordinal).ToList();
        long needed = blobs.Where(b => !File.Exists(cache.BlobPath(repo, b.Key))).Sum(b =>
            b.First().Meta.Size - (File.Exists(cache.BlobPath(repo, b.Key) + ".incomplete") ? new FileInfo(cache.BlobPath(repo, b.Key) + ".incomplete").Length : 0));
        CheckFreeSpace(repo, needed);

        tracker.Start(cachedBytes + metadata.Sum(m => m.Size), paths.Count, cachedBytes, cached.Count);
        await Parallel.ForEachAsync(blobs, Parallelism(ct), async (group, token) =>
        {
            var first = group.First();
            string blob = cache.BlobPath(repo, group.Key);
            bool downloaded = false;
            using (await CacheLock.AcquireAsync(cache.LockPath(repo, group.Key), token).ConfigureAwait(false))
            {
                if (!File.Exists(blob))
                {
                    var request = new BlobRequest(first.Meta.Location, blob, first.Meta.Size, ExpectedHashFor(entries.GetValueOrDefault(first.Path), first.Meta), first.Path);
                    await transfer.DownloadAsync(request, tracker, r => api.ErrorAsync(r, repo, commit, first.Path), token).ConfigureAwait(false);
                    downloaded = true;
                }
                var files = group.ToList();
                for (int i = 0; i < files.Count; i++)
                {
                    // Only the last pointer may take the blob itself where symlinks are unavailable.
                    HfCacheLayout.LinkPointer(blob, cache.PointerPath(repo, commit, files[i].Path), newBlob: downloaded && i == files.Count - 1);
                    if (i > 0 || !downloaded) tracker.Add(files[i].Meta.Size, fromNetwork: false);
                }
            }
            tracker.FilesCompleted(group.Count());
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The checksum to verify: the listing's LFS sha256, else the CDN redirect's sha256 etag, else the git blob id when
    /// the listing and the etag agree on it. Without any of these only the size is checked.
    /// </summary>
    internal static ExpectedHash? ExpectedHashFor(HubFileEntry? entry, HfFileMetadata meta)
    {
        if (entry?.LfsSha256 is { Length: 64 } lfs) return new ExpectedHash.Sha256(lfs.ToLowerInvariant());
        if (meta.Linked && IsHex(meta.Etag, 64)) return new ExpectedHash.Sha256(meta.Etag.ToLowerInvariant());
        if (entry?.BlobId is { } blob && !meta.Linked && string.Equals(blob, meta.Etag, StringComparison.OrdinalIgnoreCase) && IsHex(blob, 40))
            return new ExpectedHash.GitBlob(blob.ToLowerInvariant());
        return null;
    }

    static bool IsHex(string s, int length) => s.Length == length && s.All(Uri.IsHexDigit);

    void CheckFreeSpace(HubRepoId repo, long needed)
    {
        string blobs = Path.Combine(cache.RepoFolder(repo), "blobs");
        if (needed > 0 && FreeSpace(blobs) is { } free && free < needed)
            throw new HubException(HubErrorKind.DiskFull,
                $"{repo} needs {DownloadProgress.FormatBytes(needed)} more but the disk holding {cache.Root} has only {DownloadProgress.FormatBytes(free)} free. " +
                "Free some space or point HF_HUB_CACHE (or --cache-dir) at a larger disk.");
    }

    ParallelOptions Parallelism(CancellationToken ct) => new() { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelDownloads), CancellationToken = ct };

    /// <summary>The cached snapshot of a revision, if it is complete for the selection; else a NotInCache error.</summary>
    HubSnapshot FromCache(HubRepoId repo, string revision, HubFileFilter filter, ProgressTracker tracker, HubException? networkError)
    {
        // Offline: say so and how to fill the cache. Hub unreachable: its error first, then that the cache cannot stand in.
        string Fail(string what) => networkError is null
            ? $"Offline mode is on (HF_HUB_OFFLINE or --offline) and {what}. Download it once with network access (llamaboard download {repo.Id}), then work offline."
            : $"{networkError.Message} The cache cannot stand in: {what}.";

        string? commit = cache.CommitFor(repo, revision);
        string? folder = commit is null ? null : cache.SnapshotFolder(repo, commit);
        if (commit is null || !Directory.Exists(folder))
            throw new HubException(HubErrorKind.NotInCache, Fail($"the cache at {cache.Root} holds no copy of {repo} at revision '{revision}'"), networkError);

        var paths = cache.ReadTree(repo, commit)?.Select(f => f.Path).ToList() ?? FilesUnder(folder!);
        var selected = filter.Select(paths, p => ReadPointer(repo, commit, p), repo.ToString());
        var missing = selected.Where(p => HfCacheLayout.Resolve(cache.PointerPath(repo, commit, p)) is null).ToList();
        if (selected.Count == 0 || missing.Count > 0)
            throw new HubException(HubErrorKind.NotInCache, Fail(
                $"the cached copy of {repo} (commit {commit}) is incomplete" +
                (missing.Count > 0 ? $", {missing.Count} file(s) missing ({string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")})" : "")), networkError);

        long bytes = selected.Sum(p => HfCacheLayout.Resolve(cache.PointerPath(repo, commit, p))!.Length);
        tracker.Start(bytes, selected.Count, bytes, selected.Count);
        tracker.Completed();
        string? notice = networkError is null ? null
            : (networkError.StatusCode is { } status ? $"The Hugging Face hub answered {status}" : "The Hugging Face hub could not be reached") +
              $"; using the cached copy (commit {commit[..Math.Min(12, commit.Length)]}).";
        return new HubSnapshot(repo, HubSource.HuggingFace, folder!, commit, selected, 0, true, notice);
    }

    static List<string> FilesUnder(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => !p.Split('/').Last().StartsWith('.'))
            .ToList();

    static string Describe(HubFileFilter filter) =>
        string.Join("; ", new[]
        {
            filter.ModelFilesOnly ? "model files: config, tokenizer, safetensors weights" : null,
            filter.Include.Count > 0 ? "include " + string.Join(" ", filter.Include) : null,
            filter.Exclude.Count > 0 ? "exclude " + string.Join(" ", filter.Exclude) : null,
        }.OfType<string>());

    static ProgressTracker Silent(HubRepoId repo) => new(repo.Id, null);
}
