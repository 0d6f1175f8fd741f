using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// The file paths a hub listing gives (or a cached copy of one) decide where files are read and written, so each must
/// name a place inside the download folder: '/'-separated segments, none empty, <c>.</c> or <c>..</c>, no backslash,
/// drive or NUL, not absolute. A listing with one such path is refused whole: it did not come from an honest hub.
/// </summary>
internal static class HubListingPaths
{
    /// <summary>Throws naming the first path of <paramref name="paths"/> that could leave its folder.</summary>
    /// <exception cref="HubException">A path would leave the download folder (kind <see cref="HubErrorKind.ServerError"/>).</exception>
    public static void EnsureContained(IEnumerable<string> paths, HubRepoId repo, string site)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.FirstOrDefault(p => !IsContained(p)) is { } bad)
            throw Refusal(bad, repo, site);
    }

    /// <summary>True when <paramref name="path"/> is a plain relative path that stays inside any folder it is joined to.</summary>
    public static bool IsContained(string path) =>
        path.Length > 0 && !path.StartsWith('/') && path.IndexOfAny(['\\', '\0']) < 0 && !(path.Length >= 2 && path[1] == ':') &&
        !path.Split('/').Any(s => s is "" or "." or "..");

    /// <summary>
    /// <paramref name="root"/> joined with the listed <paramref name="path"/>, checked on disk too: a link inside the
    /// folder that leads elsewhere is refused like a <c>..</c>.
    /// </summary>
    /// <exception cref="HubException">The path would leave <paramref name="root"/>.</exception>
    public static string Combine(string root, string path, HubRepoId repo, string site) =>
        IsContained(path) && PathConfinement.CombineInside(root, path) is { } full ? full : throw Refusal(path, repo, site);

    static HubException Refusal(string path, HubRepoId repo, string site) =>
        new(HubErrorKind.ServerError,
            $"{site} listed a file path '{path}' in {repo} that would leave the download folder; refusing the listing. " +
            "Nothing was written outside the folder; report the repository if it is yours, or choose another one.");
}
