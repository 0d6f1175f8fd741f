using System.Security.Cryptography;
using System.Text.Json;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Downloads from ModelScope into ModelScope's own cache layout, so its Python SDK and LlamaBoard find the same
/// folder: <c>{MODELSCOPE_CACHE}/models/{owner}/{name}</c> (dots in the name written as <c>___</c>, as ModelScope
/// does) or <c>…/datasets/{owner}/{name}</c>, with transfers in progress under <c>…/._____temp/{owner}/{name}</c>.
/// ModelScope's own index of that folder is a Python pickle (<c>.msc</c>), which is not written here; instead
/// <c>.llamaboard.json</c> records each revision's file list and checksums so files are not re-hashed and offline
/// mode knows when a copy is complete. Files already there (e.g. from the Python SDK) are reused when their
/// sha256 matches the listing.
/// </summary>
internal sealed class ModelScopeDownloader(HubHttp http, HubOptions options)
{
    const string ManifestName = ".llamaboard.json";

    readonly ModelScopeApi api = new(http, options);
    readonly BlobTransfer transfer = new(http, options);

    /// <summary>Free space of a folder's volume; replaceable so tests can simulate a nearly full disk.</summary>
    internal Func<string, long?> FreeSpace { get; init; } = DiskErrors.FreeBytes;

    string TypeRoot(HubRepoId repo) => Path.Combine(Path.GetFullPath(options.ModelScopeCacheDir), repo.TypePlural);

    /// <summary>The folder ModelScope's <c>snapshot_download</c> returns for the repository.</summary>
    public string RepoFolder(HubRepoId repo)
    {
        var (owner, name) = Split(repo);
        return Path.Combine(TypeRoot(repo), owner, name.Replace(".", "___", StringComparison.Ordinal));
    }

    public async Task<HubSnapshot> DownloadAsync(HubRepoId repo, HubFileFilter filter, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string revision = options.RevisionFor(HubSource.ModelScope);
        using var tracker = new ProgressTracker(repo.Id, progress);
        tracker.Resolving();
        string folder = RepoFolder(repo);
        var manifest = Manifest.Read(Path.Combine(folder, ManifestName));
        if (options.Offline) return FromCache(repo, revision, filter, manifest, tracker, null);

        IReadOnlyList<HubFileEntry> listing;
        try
        {
            listing = await api.ListFilesAsync(repo, revision, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.NoNetwork || e.StatusCode >= 500)
        {
            return FromCache(repo, revision, filter, manifest, tracker, e);
        }
        // Before anything is read or written by these paths.
        HubListingPaths.EnsureContained(listing.Select(f => f.Path), repo, "ModelScope");
        var entries = listing.ToDictionary(f => f.Path, StringComparer.Ordinal);
        manifest.SetListing(revision, listing);

        var indexTracker = Silent(repo);
        if (filter.ModelFilesOnly && entries.TryGetValue(HubFileFilter.SafetensorsIndex, out var index) && !IsCached(folder, index, manifest, revision))
            await FetchAsync(repo, revision, [index], manifest, indexTracker, ct).ConfigureAwait(false);
        var selected = filter.Select(entries.Keys, p => ReadIfPresent(Path.Combine(folder, p)), repo.ToString());
        if (selected.Count == 0)
            throw new HubException(HubErrorKind.InvalidRequest, $"No file of {repo} on ModelScope matches the selection; its files include: {string.Join(", ", entries.Keys.Take(12))}.");

        try
        {
            await FetchAsync(repo, revision, selected.Select(p => entries[p]).ToList(), manifest, tracker, ct).ConfigureAwait(false);
        }
        finally
        {
            manifest.Write(Path.Combine(folder, ManifestName)); // Keeps the checksums of what did arrive.
        }
        tracker.Completed();
        return new HubSnapshot(repo, HubSource.ModelScope, folder, revision, selected, tracker.Transferred + indexTracker.Transferred, false);
    }

    async Task FetchAsync(HubRepoId repo, string revision, IReadOnlyList<HubFileEntry> files, Manifest manifest, ProgressTracker tracker, CancellationToken ct)
    {
        string folder = RepoFolder(repo);
        var (owner, name) = Split(repo);
        string temp = Path.Combine(TypeRoot(repo), "._____temp", owner, name);

        var cached = new List<HubFileEntry>();
        foreach (var f in files)
            if (IsCached(folder, f, manifest, revision) || await MatchesExistingAsync(folder, f, manifest, revision, ct).ConfigureAwait(false))
                cached.Add(f);
        var missing = files.Except(cached).ToList();
        foreach (var f in missing.Where(f => f.Size is null))
            throw new HubException(HubErrorKind.ServerError, $"ModelScope listed {f.Path} of {repo} without a size; cannot download it safely.");

        long needed = missing.Sum(f => f.Size!.Value - PartialLength(temp, f.Path));
        if (needed > 0 && FreeSpace(folder) is { } free && free < needed)
            throw new HubException(HubErrorKind.DiskFull,
                $"{repo} needs {DownloadProgress.FormatBytes(needed)} more but the disk holding {options.ModelScopeCacheDir} has only {DownloadProgress.FormatBytes(free)} free. " +
                "Free some space or point MODELSCOPE_CACHE (or --cache-dir) at a larger disk.");

        long cachedBytes = cached.Sum(f => f.Size ?? new FileInfo(Path.Combine(folder, f.Path)).Length);
        tracker.Start(cachedBytes + missing.Sum(f => f.Size!.Value), files.Count, cachedBytes, cached.Count);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelDownloads), CancellationToken = ct };
        await Parallel.ForEachAsync(missing, parallel, async (f, token) =>
        {
            string destination = SafeCombine(folder, f.Path, repo);
            string partial = SafeCombine(temp, f.Path, repo) + ".incomplete";
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            using (await CacheLock.AcquireAsync(partial + ".lock", token).ConfigureAwait(false))
            {
                var request = new BlobRequest(api.FileUrl(repo, revision, f.Path), destination, f.Size!.Value,
                    f.LfsSha256 is { } sha ? new ExpectedHash.Sha256(sha.ToLowerInvariant()) : null, f.Path, partial);
                await transfer.DownloadAsync(request, tracker, r => api.ErrorAsync(r, repo, revision, f.Path), token).ConfigureAwait(false);
            }
            manifest.MarkVerified(revision, f);
            tracker.FilesCompleted(1);
        }).ConfigureAwait(false);
    }

    static long PartialLength(string temp, string path)
    {
        string partial = Path.Combine(temp, Path.Combine(path.Split('/'))) + ".incomplete";
        return File.Exists(partial) ? new FileInfo(partial).Length : 0;
    }

    static bool IsCached(string folder, HubFileEntry f, Manifest manifest, string revision)
    {
        var file = new FileInfo(Path.Combine(folder, Path.Combine(f.Path.Split('/'))));
        return file.Exists && (f.Size is null || file.Length == f.Size) && manifest.IsVerified(revision, f);
    }

    /// <summary>A file left by ModelScope's Python SDK: reused when its sha256 matches the listing.</summary>
    static async Task<bool> MatchesExistingAsync(string folder, HubFileEntry f, Manifest manifest, string revision, CancellationToken ct)
    {
        var file = new FileInfo(Path.Combine(folder, Path.Combine(f.Path.Split('/'))));
        if (!file.Exists || f.Size is null || file.Length != f.Size || f.LfsSha256 is null) return false;
        var stream = file.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            string sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
            if (!string.Equals(sha, f.LfsSha256, StringComparison.OrdinalIgnoreCase)) return false;
        }
        manifest.MarkVerified(revision, f);
        return true;
    }

    HubSnapshot FromCache(HubRepoId repo, string revision, HubFileFilter filter, Manifest manifest, ProgressTracker tracker, HubException? networkError)
    {
        string folder = RepoFolder(repo);
        string Fail(string what) => networkError is null
            ? $"Offline mode is on (HF_HUB_OFFLINE or --offline) and {what}. Download it once with network access (llamaboard download {repo.Id} --source modelscope), then work offline."
            : $"{networkError.Message} The cache cannot stand in: {what}.";
        if (!Directory.Exists(folder))
            throw new HubException(HubErrorKind.NotInCache, Fail($"the ModelScope cache at {options.ModelScopeCacheDir} holds no copy of {repo}"), networkError);
        var listing = manifest.Listing(revision);
        // The manifest is a file on disk that anyone with access to the cache could edit.
        if (listing is not null) HubListingPaths.EnsureContained(listing.Keys, repo, "The cached ModelScope listing");
        IReadOnlyCollection<string> paths = listing?.Keys.ToList() ?? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => !p.Split('/').Any(s => s.StartsWith('.'))).ToList();
        var selected = filter.Select(paths, p => ReadIfPresent(Path.Combine(folder, p)), repo.ToString());
        var missing = selected.Where(p => !File.Exists(Path.Combine(folder, p)) || (listing is not null && listing[p].Size is { } s && new FileInfo(Path.Combine(folder, p)).Length != s)).ToList();
        if (selected.Count == 0 || missing.Count > 0)
            throw new HubException(HubErrorKind.NotInCache, Fail(
                $"the cached copy of {repo} at {folder} is incomplete" +
                (missing.Count > 0 ? $", {missing.Count} file(s) missing ({string.Join(", ", missing.Take(3))})" : "")), networkError);
        long bytes = selected.Sum(p => new FileInfo(Path.Combine(folder, p)).Length);
        tracker.Start(bytes, selected.Count, bytes, selected.Count);
        tracker.Completed();
        return new HubSnapshot(repo, HubSource.ModelScope, folder, revision, selected, 0, true,
            networkError is null ? null
                : (networkError.StatusCode is { } status ? $"ModelScope answered {status}" : "ModelScope could not be reached") + "; using the cached copy.");
    }

    static string? ReadIfPresent(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    static (string Owner, string Name) Split(HubRepoId repo) => repo.Id.Split('/') is [var owner, var name]
        ? (owner, name)
        : throw new HubException(HubErrorKind.InvalidRequest, $"ModelScope ids are 'owner/name'; '{repo.Id}' has no owner.");

    static string SafeCombine(string root, string path, HubRepoId repo) => HubListingPaths.Combine(root, path, repo, "ModelScope");

    /// <summary>
    /// <c>.llamaboard.json</c>: per revision, every file with size and sha256 as listed, and which local files were
    /// verified against them. Thread-safe; written atomically.
    /// </summary>
    sealed class Manifest
    {
        readonly Dictionary<string, Dictionary<string, HubFileEntry>> listings = new(StringComparer.Ordinal);
        readonly Dictionary<string, HashSet<string>> verified = new(StringComparer.Ordinal);
        readonly object gate = new();

        public static Manifest Read(string path)
        {
            var manifest = new Manifest();
            try
            {
                if (!File.Exists(path)) return manifest;
                using var json = JsonDocument.Parse(File.ReadAllBytes(path));
                foreach (var rev in json.RootElement.GetProperty("revisions").EnumerateObject())
                {
                    var files = new Dictionary<string, HubFileEntry>(StringComparer.Ordinal);
                    var ok = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var f in rev.Value.GetProperty("files").EnumerateObject())
                    {
                        files[f.Name] = new HubFileEntry(f.Name,
                            f.Value.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null, null,
                            f.Value.TryGetProperty("sha256", out var h) ? h.GetString() : null);
                        if (f.Value.TryGetProperty("verified", out var v) && v.GetBoolean()) ok.Add(f.Name);
                    }
                    manifest.listings[rev.Name] = files;
                    manifest.verified[rev.Name] = ok;
                }
            }
            catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return new Manifest(); // A damaged manifest only costs re-hashing.
            }
            return manifest;
        }

        public IReadOnlyDictionary<string, HubFileEntry>? Listing(string revision)
        {
            lock (gate) return listings.TryGetValue(revision, out var l) ? l : null;
        }

        public void SetListing(string revision, IReadOnlyList<HubFileEntry> files)
        {
            lock (gate)
            {
                var old = listings.GetValueOrDefault(revision);
                var keep = verified.GetValueOrDefault(revision) ?? [];
                // A file stays verified only if the listing still gives it the same checksum.
                keep.RemoveWhere(p => old?.GetValueOrDefault(p)?.LfsSha256 is not { } sha || files.FirstOrDefault(f => f.Path == p)?.LfsSha256 != sha);
                listings[revision] = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
                verified[revision] = keep;
            }
        }

        public bool IsVerified(string revision, HubFileEntry f)
        {
            lock (gate)
                return verified.GetValueOrDefault(revision)?.Contains(f.Path) == true &&
                       listings.GetValueOrDefault(revision)?.GetValueOrDefault(f.Path)?.LfsSha256 == f.LfsSha256;
        }

        public void MarkVerified(string revision, HubFileEntry f)
        {
            lock (gate)
            {
                if (!verified.TryGetValue(revision, out var set)) verified[revision] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(f.Path);
            }
        }

        public void Write(string path)
        {
            using var buffer = new MemoryStream();
            lock (gate)
            {
                using var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteNumber("format_version", 1);
                w.WriteStartObject("revisions");
                foreach (var (rev, files) in listings)
                {
                    w.WriteStartObject(rev);
                    w.WriteStartObject("files");
                    foreach (var f in files.Values.OrderBy(f => f.Path, StringComparer.Ordinal))
                    {
                        w.WriteStartObject(f.Path);
                        if (f.Size is { } size) w.WriteNumber("size", size);
                        if (f.LfsSha256 is { } sha) w.WriteString("sha256", sha);
                        w.WriteBoolean("verified", verified.GetValueOrDefault(rev)?.Contains(f.Path) == true);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllBytes(path, buffer.ToArray());
        }
    }

    static ProgressTracker Silent(HubRepoId repo) => new(repo.Id, null);
}
