using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// The huggingface_hub cache layout, read and written exactly as Python's <c>hf_hub_download</c> and
/// <c>snapshot_download</c> do, so caches are shared both ways:
/// <code>
/// {cache}/models--Qwen--Qwen2.5-0.5B/
///   blobs/{etag}                       file contents, named by etag (git sha1, or sha256 for LFS files)
///   blobs/{etag}.incomplete            a transfer in progress or interrupted; resumed with an HTTP Range request
///   refs/main                          the commit hash the branch pointed to at the last download
///   snapshots/{commit}/config.json     -> ../../blobs/{etag}   (relative symlinks; copies where symlinks fail)
///   trees/{commit}.json                the commit's file listing (format_version 1), to know a snapshot is complete
/// {cache}/.locks/models--Qwen--Qwen2.5-0.5B/{etag}.lock   one writer per blob (flock, like Python's filelock)
/// </code>
/// </summary>
public sealed partial class HfCacheLayout(string root)
{
    /// <summary>The cache folder (<c>HF_HUB_CACHE</c>).</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Whether <paramref name="revision"/> is a full commit hash (40 lowercase hex digits).</summary>
    public static bool IsCommitHash(string revision) => CommitHashPattern().IsMatch(revision);

    /// <summary><c>{cache}/models--org--name</c>.</summary>
    public string RepoFolder(HubRepoId repo) => Path.Combine(Root, repo.CacheFolderName);

    /// <summary><c>{repo}/snapshots/{commit}</c>.</summary>
    public string SnapshotFolder(HubRepoId repo, string commit) => Path.Combine(RepoFolder(repo), "snapshots", ValidSegment(commit, "commit"));

    /// <summary><c>{repo}/blobs/{etag}</c>.</summary>
    public string BlobPath(HubRepoId repo, string etag) => Path.Combine(RepoFolder(repo), "blobs", ValidSegment(etag, "etag"));

    internal string LockPath(HubRepoId repo, string etag) => Path.Combine(Root, ".locks", repo.CacheFolderName, ValidSegment(etag, "etag") + ".lock");

    /// <summary>
    /// The file's place in a snapshot. Refuses paths that would leave the snapshot folder (<c>..</c>, absolute
    /// paths), which a malicious listing could otherwise use to write anywhere.
    /// </summary>
    public string PointerPath(HubRepoId repo, string commit, string path)
    {
        string snapshot = SnapshotFolder(repo, commit);
        string full = Path.GetFullPath(Path.Combine(snapshot, Path.Combine(path.Split('/'))));
        if (path.Length == 0 || path.Split('/').Any(s => s is "" or "." or "..") || Path.IsPathRooted(path) ||
            !full.StartsWith(snapshot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new HubException(HubErrorKind.ServerError, $"The hub listed a file path '{path}' in {repo} that would leave the snapshot folder; refusing it.");
        return full;
    }

    /// <summary>The commit recorded for a branch or tag by an earlier download, or null.</summary>
    public string? ReadRef(HubRepoId repo, string revision)
    {
        string path = RefPath(repo, revision);
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } commit ? commit : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Records <paramref name="commit"/> for a branch or tag, atomically (temp file then rename).</summary>
    internal void WriteRef(HubRepoId repo, string revision, string commit)
    {
        if (revision == commit || ReadRef(repo, revision) == commit) return;
        string path = RefPath(repo, revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, commit);
    }

    /// <summary>The commit a revision means without asking the hub: itself if it is a hash, else its ref.</summary>
    public string? CommitFor(HubRepoId repo, string revision) => IsCommitHash(revision) ? revision : ReadRef(repo, revision);

    string RefPath(HubRepoId repo, string revision)
    {
        // Branch names may contain '/' (refs/pr/1); huggingface_hub nests folders for them.
        if (revision.Length == 0 || revision.Split('/').Any(s => s is "" or "." or ".."))
            throw new HubException(HubErrorKind.InvalidRequest, $"'{revision}' is not a usable revision name.");
        return Path.Combine(RepoFolder(repo), "refs", Path.Combine(revision.Split('/')));
    }

    /// <summary>The cached file listing of a commit (<c>trees/{commit}.json</c>), or null when absent or unreadable.</summary>
    internal IReadOnlyList<HubFileEntry>? ReadTree(HubRepoId repo, string commit)
    {
        string path = Path.Combine(RepoFolder(repo), "trees", ValidSegment(commit, "commit") + ".json");
        try
        {
            if (!File.Exists(path)) return null;
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!json.RootElement.TryGetProperty("format_version", out var v) || v.GetInt32() != 1) return null;
            return json.RootElement.GetProperty("files").EnumerateObject().Select(f => new HubFileEntry(
                f.Name, f.Value.GetProperty("size").GetInt64(), f.Value.GetProperty("blob_id").GetString(),
                f.Value.TryGetProperty("lfs_sha256", out var sha) ? sha.GetString() : null)).ToList();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null; // Like huggingface_hub: a damaged listing is ignored and fetched again.
        }
    }

    /// <summary>Writes a commit's file listing in huggingface_hub's format; only complete listings (sizes and blob ids) are written.</summary>
    internal void WriteTree(HubRepoId repo, string commit, IReadOnlyList<HubFileEntry> files)
    {
        if (files.Any(f => f.Size is null || f.BlobId is null)) return;
        string path = Path.Combine(RepoFolder(repo), "trees", ValidSegment(commit, "commit") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("format_version", 1);
            w.WriteStartObject("files");
            foreach (var f in files.OrderBy(f => f.Path, StringComparer.Ordinal))
            {
                w.WriteStartObject(f.Path);
                w.WriteNumber("size", f.Size!.Value);
                w.WriteString("blob_id", f.BlobId);
                if (f.LfsSha256 is not null)
                {
                    w.WriteString("lfs_sha256", f.LfsSha256);
                    w.WriteNumber("lfs_size", f.Size.Value);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }

    /// <summary>
    /// Puts a snapshot entry in place pointing at a complete blob: a relative symlink (so the cache survives being
    /// moved), made under a temporary name and renamed over the destination so readers never see a half state.
    /// Where symlinks are not allowed (Windows without developer mode) the blob is moved there if it is new, or
    /// copied, as huggingface_hub does.
    /// </summary>
    internal static void LinkPointer(string blob, string pointer, bool newBlob)
    {
        string folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $".{Path.GetFileName(pointer)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.CreateSymbolicLink(temp, Path.GetRelativePath(folder, blob));
            File.Move(temp, pointer, overwrite: true);
            return;
        }
        catch (Exception e) when (OperatingSystem.IsWindows() && e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp); // No symlink privilege: fall through to a real file.
        }
        if (newBlob) File.Move(blob, pointer, overwrite: true);
        else
        {
            File.Copy(blob, temp, overwrite: true);
            File.Move(temp, pointer, overwrite: true);
        }
    }

    /// <summary>
    /// The file a snapshot entry stands for, following its link, or null when it is missing or a dangling link
    /// (a blob deleted by hand). File.Exists and FileInfo.Length look at the link itself, so they cannot be used.
    /// </summary>
    internal static FileInfo? Resolve(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        if (info.LinkTarget is null) return info;
        try
        {
            return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target && target.Exists ? target : null;
        }
        catch (IOException)
        {
            return null; // A link loop or an unreadable link: not a usable file.
        }
    }

    static string ValidSegment(string value, string what) =>
        value.Length > 0 && value.IndexOfAny(['/', '\\', '\0']) < 0 && value is not "." and not ".."
            ? value : throw new HubException(HubErrorKind.ServerError, $"The hub gave an unusable {what} '{value}'.");

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHashPattern();
}

/// <summary>Small files written whole: a temp file in the same folder, then a rename over the destination.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes)
    {
        string temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
