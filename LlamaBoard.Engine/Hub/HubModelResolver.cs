namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Turns a <c>model_name_or_path</c> into a local folder, as transformers' <c>from_pretrained</c> does: an existing
/// folder is used as it is; a hub id (<c>org/name</c>) is downloaded into the cache, or taken from it, and the
/// snapshot folder returned. Only the files a model load needs are fetched (<see cref="HubFileFilter.ModelFiles"/>).
/// </summary>
public static class HubModelResolver
{
    /// <summary>
    /// The local folder for <paramref name="modelNameOrPath"/>: a local folder (returned as its full path) or a hub
    /// id on <see cref="HubOptions.Source"/> at <see cref="HubOptions.Revision"/>, downloaded with progress events.
    /// </summary>
    /// <exception cref="HubException">A path that does not exist, a malformed id, or a failed download; the message says what to do.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; partial downloads are kept and resume next time.</exception>
    public static async Task<string> ResolveAsync(string modelNameOrPath, HubOptions options, IProgress<DownloadProgress>? progress = null,
        CancellationToken ct = default)
    {
        var snapshot = await ResolveSnapshotAsync(modelNameOrPath, options, progress, ct).ConfigureAwait(false);
        return snapshot?.Folder ?? Path.GetFullPath(ExpandUser(modelNameOrPath));
    }

    /// <summary>
    /// Like <see cref="ResolveAsync"/>, but returns the snapshot (commit, files, notice such as "hub unreachable,
    /// cached copy used") for a hub id, or null when <paramref name="modelNameOrPath"/> is a local folder.
    /// </summary>
    public static async Task<HubSnapshot?> ResolveSnapshotAsync(string modelNameOrPath, HubOptions options, IProgress<DownloadProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(modelNameOrPath))
            throw new HubException(HubErrorKind.InvalidRequest, "model_name_or_path is empty; give a local model folder or a hub id such as Qwen/Qwen2.5-0.5B-Instruct.");
        string local = ExpandUser(modelNameOrPath.Trim());
        if (Directory.Exists(local)) return null;
        if (File.Exists(local))
            throw new HubException(HubErrorKind.InvalidRequest,
                $"model_name_or_path '{modelNameOrPath}' is a file; give the folder that holds config.json and the weights.");
        if (LooksLikePath(modelNameOrPath) || !HubRepoId.IsValid(modelNameOrPath.Trim()))
            throw new HubException(HubErrorKind.InvalidRequest,
                $"model_name_or_path '{modelNameOrPath}' is neither an existing folder nor a hub id. Check the path, or give an id such as " +
                "Qwen/Qwen2.5-0.5B-Instruct (see the model catalogue).");

        using var client = new HubClient(options);
        return await client.DownloadAsync(new HubRepoId(modelNameOrPath.Trim()), HubFileFilter.ModelFiles, progress, ct).ConfigureAwait(false);
    }

    /// <summary>Whether the text is written as a file-system path rather than a hub id (so it is never sent to a hub).</summary>
    public static bool LooksLikePath(string text) =>
        text.StartsWith('/') || text.StartsWith('.') || text.StartsWith('~') || text.Contains('\\', StringComparison.Ordinal) ||
        (text.Length >= 2 && text[1] == ':') || text.Count(c => c == '/') > 1;

    static string ExpandUser(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;
}
