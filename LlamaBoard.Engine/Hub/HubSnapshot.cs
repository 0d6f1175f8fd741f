namespace LlamaBoard.Engine.Hub;

/// <summary>A repository's files, complete in the local cache.</summary>
/// <param name="Repo">The repository.</param>
/// <param name="Source">The hub it came from.</param>
/// <param name="Folder">The local folder holding the files under their repository paths (a huggingface_hub snapshot folder, or ModelScope's model folder).</param>
/// <param name="Commit">The commit the files belong to (on ModelScope, the revision name).</param>
/// <param name="Files">The repository paths that were selected, all present under <paramref name="Folder"/>.</param>
/// <param name="BytesDownloaded">Bytes received from the network in this call (0 when all came from the cache).</param>
/// <param name="FromCacheOnly">True when no file list was fetched from the hub (offline mode, or the hub unreachable).</param>
/// <param name="Notice">Something the user should know, such as "the hub was unreachable; the cached copy is used".</param>
public sealed record HubSnapshot(
    HubRepoId Repo,
    HubSource Source,
    string Folder,
    string Commit,
    IReadOnlyList<string> Files,
    long BytesDownloaded,
    bool FromCacheOnly,
    string? Notice = null);
