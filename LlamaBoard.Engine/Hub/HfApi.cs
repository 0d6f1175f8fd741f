using System.Net;
using System.Text.Json;

namespace LlamaBoard.Engine.Hub;

/// <summary>One file of a repository at a commit, as the hub's tree listing describes it.</summary>
/// <param name="Path">Path inside the repository, '/'-separated.</param>
/// <param name="Size">Size in bytes, when the listing gives it.</param>
/// <param name="BlobId">The git blob id (sha1 of "blob {size}\0" + content for a file stored in git).</param>
/// <param name="LfsSha256">The sha256 of the content for a file stored with Git LFS (or Xet), else null.</param>
internal sealed record HubFileEntry(string Path, long? Size, string? BlobId, string? LfsSha256);

/// <summary>A file's download metadata from a HEAD request on its resolve URL.</summary>
/// <param name="Etag">The blob name in the cache: the LFS sha256 (<c>X-Linked-Etag</c>) or the git blob id (<c>ETag</c>).</param>
/// <param name="Commit">The commit the revision points to (<c>X-Repo-Commit</c>).</param>
/// <param name="Size">Size in bytes (<c>X-Linked-Size</c> or <c>Content-Length</c>).</param>
/// <param name="Location">Where to GET the bytes: the CDN URL of a redirect, else the resolve URL.</param>
/// <param name="Linked">True when the hub redirected to a CDN (an LFS file): its etag is the content's sha256.</param>
internal sealed record HfFileMetadata(string Etag, string Commit, long Size, Uri Location, bool Linked);

/// <summary>
/// The parts of the Hugging Face hub's HTTP API a download needs, with huggingface_hub's URL shapes:
/// <c>/api/{models|datasets}/{id}/revision/{rev}</c> (the commit), <c>/api/…/tree/{commit}?recursive=true</c> (files
/// with sizes and LFS hashes, paged by <c>Link</c> headers), and HEAD on <c>/{datasets/}{id}/resolve/{rev}/{path}</c>
/// (etag, size, commit and CDN location). Error answers become <see cref="HubException"/>s from the hub's
/// <c>X-Error-Code</c> header.
/// </summary>
internal sealed class HfApi(HubHttp http, HubOptions options)
{
    HubSite Site => http.Site;

    public Uri RevisionUrl(HubRepoId repo, string revision) =>
        new($"{Site.Endpoint}/api/{repo.TypePlural}/{repo.Id}/revision/{Uri.EscapeDataString(revision)}");

    public Uri TreeUrl(HubRepoId repo, string revision) =>
        new($"{Site.Endpoint}/api/{repo.TypePlural}/{repo.Id}/tree/{Uri.EscapeDataString(revision)}?recursive=true");

    /// <summary>huggingface_hub's <c>hf_hub_url</c>: the revision is escaped whole, the path segment by segment.</summary>
    public Uri ResolveUrl(HubRepoId repo, string revision, string path) =>
        new($"{Site.Endpoint}/{(repo.Type == HubRepoType.Dataset ? "datasets/" : "")}{repo.Id}/resolve/" +
            $"{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>The commit that <paramref name="revision"/> (branch, tag or commit) points to.</summary>
    public async Task<(string Commit, IReadOnlyList<string> Siblings)> RevisionInfoAsync(HubRepoId repo, string revision, CancellationToken ct)
    {
        var (json, _) = await http.GetJsonAsync(RevisionUrl(repo, revision), options.MetadataTimeout,
            r => ErrorAsync(r, repo, revision, null), ct).ConfigureAwait(false);
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sha", out var sha) || sha.GetString() is not { Length: > 0 } commit)
                throw new HubException(HubErrorKind.ServerError,
                    $"{RevisionUrl(repo, revision)} answered without a commit \"sha\"; is {Site.EndpointVariable}={Site.Endpoint} a Hugging Face hub or mirror?");
            var siblings = new List<string>();
            if (root.TryGetProperty("siblings", out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var s in list.EnumerateArray())
                    if (s.TryGetProperty("rfilename", out var name) && name.GetString() is { } n) siblings.Add(n);
            return (commit, siblings);
        }
    }

    /// <summary>
    /// All files of the repository at <paramref name="commit"/> from the tree API, following <c>Link: rel="next"</c>
    /// pages; null when the endpoint does not exist (an old mirror), so the caller falls back to the siblings list.
    /// </summary>
    public async Task<IReadOnlyList<HubFileEntry>?> ListTreeAsync(HubRepoId repo, string commit, CancellationToken ct)
    {
        var files = new List<HubFileEntry>();
        Uri? url = TreeUrl(repo, commit);
        while (url is not null)
        {
            using var response = await http.SendAsync(HttpMethod.Get, url, RedirectPolicy.Any, options.MetadataTimeout, null, ct).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed && HubHttp.Header(response, "X-Error-Code") is null)
                return files.Count == 0 ? null : throw await ErrorAsync(response, repo, commit, null).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, repo, commit, null).ConfigureAwait(false);

            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                throw http.NoNetwork(url, e.Message, e);
            }
            try
            {
                using var json = JsonDocument.Parse(body);
                foreach (var item in json.RootElement.EnumerateArray())
                {
                    if (item.GetProperty("type").GetString() != "file") continue;
                    string? lfs = item.TryGetProperty("lfs", out var l) && l.ValueKind == JsonValueKind.Object && l.TryGetProperty("oid", out var oid)
                        ? oid.GetString() : null;
                    files.Add(new HubFileEntry(
                        item.GetProperty("path").GetString()!,
                        item.TryGetProperty("size", out var size) && size.ValueKind == JsonValueKind.Number ? size.GetInt64() : null,
                        item.TryGetProperty("oid", out var blob) ? blob.GetString() : null,
                        lfs));
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new HubException(HubErrorKind.ServerError, $"{url} answered with a file list this client cannot read ({e.Message}).", e);
            }
            url = NextPage(response, url);
        }
        return files;
    }

    /// <summary>
    /// HEAD on the file's resolve URL, following only same-host redirects so the CDN redirect's <c>X-Linked-Etag</c>
    /// and <c>X-Linked-Size</c> can be read (huggingface_hub's <c>get_hf_file_metadata</c>).
    /// </summary>
    public async Task<HfFileMetadata> HeadAsync(HubRepoId repo, string revision, string path, CancellationToken ct)
    {
        var url = ResolveUrl(repo, revision, path);
        using var response = await http.SendAsync(HttpMethod.Head, url, RedirectPolicy.SameHost, options.MetadataTimeout,
            r => r.Headers.TryAddWithoutValidation("Accept-Encoding", "identity"), ct).ConfigureAwait(false);
        bool redirect = HubHttp.IsRedirect(response.StatusCode);
        if (!response.IsSuccessStatusCode && !redirect) throw await ErrorAsync(response, repo, revision, path).ConfigureAwait(false);

        string? commit = HubHttp.Header(response, "X-Repo-Commit");
        string? etag = NormalizeEtag(HubHttp.Header(response, "X-Linked-Etag") ?? HubHttp.Header(response, "ETag"));
        string? sizeText = HubHttp.Header(response, "X-Linked-Size") ?? (redirect ? null : response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string problem = commit is null ? "no X-Repo-Commit header" : etag is null ? "no ETag" : sizeText is null ? "no size" : "";
        if (problem.Length > 0 || !long.TryParse(sizeText, out long size))
            throw new HubException(HubErrorKind.ServerError,
                $"{url} answered without the hub's file headers ({(problem.Length > 0 ? problem : "bad size " + sizeText)}); a proxy or firewall may be " +
                $"rewriting answers, or {Site.EndpointVariable}={Site.Endpoint} is not a Hugging Face hub.");
        var location = redirect && response.Headers.Location is { } l ? (l.IsAbsoluteUri ? l : new Uri(url, l)) : url;
        return new HfFileMetadata(etag!, commit!, size, location, HubHttp.Header(response, "X-Linked-Etag") is not null);
    }

    /// <summary>huggingface_hub's <c>_normalize_etag</c>: drop a weak-validator prefix and the quotes.</summary>
    internal static string? NormalizeEtag(string? etag) =>
        etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"') is { Length: > 0 } e ? e : null;

    static Uri? NextPage(HttpResponseMessage response, Uri current)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (string link in links.SelectMany(v => v.Split(',')))
        {
            var parts = link.Split(';');
            if (parts.Length < 2 || !parts.Skip(1).Any(p => p.Trim().Replace(" ", "", StringComparison.Ordinal) is "rel=\"next\"" or "rel=next")) continue;
            string target = parts[0].Trim().TrimStart('<').TrimEnd('>');
            return Uri.TryCreate(current, target, out var next) ? next : null;
        }
        return null;
    }

    /// <summary>Turns an error answer into the exception the user should see (huggingface_hub's <c>hf_raise_for_status</c>).</summary>
    public async Task<HubException> ErrorAsync(HttpResponseMessage response, HubRepoId repo, string revision, string? path)
    {
        string? code = HubHttp.Header(response, "X-Error-Code");
        string? serverMessage = HubHttp.Header(response, "X-Error-Message") ?? await ServerMessageAsync(response).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        string said = serverMessage is null ? "" : $" (the hub said: {serverMessage})";
        string page = Site.PageUrl(repo);
        bool hasToken = Site.Token is not null;

        (HubErrorKind kind, string message) =
            code == "RevisionNotFound" ? (HubErrorKind.RevisionNotFound,
                $"Revision '{revision}' does not exist in {repo}{said}; give an existing branch, tag or commit hash (see {page}).")
            : code == "EntryNotFound" ? (HubErrorKind.FileNotFound, $"File '{path}' does not exist in {repo} at revision '{revision}'{said}.")
            : code == "GatedRepo" ? (HubErrorKind.Gated, hasToken
                ? $"{repo} is gated and the account of the token in {Site.TokenVariable} has no access yet{said}. Accept the licence on {page} (approval may take a while) and retry."
                : $"{repo} is gated{said}. Accept the licence on {page}, create a read token at {Site.Endpoint}/settings/tokens and set {Site.TokenVariable} to it.")
            : status == 401 && serverMessage == "Invalid credentials in Authorization header" ? (HubErrorKind.Unauthorized,
                $"{Site.Name} refused the token in {Site.TokenVariable} as invalid; create a new read token at {Site.Endpoint}/settings/tokens or unset {Site.TokenVariable}.")
            // The hub answers 401 for private and missing repositories alike when no valid token is sent.
            : code == "RepoNotFound" || status == 401 || (status == 404 && path is null) ? (HubErrorKind.RepositoryNotFound,
                $"Repository {repo} was not found on {Site.Name} ({Site.Endpoint}){said}. Check the id's spelling" +
                (repo.Type == HubRepoType.Model ? " (or use --repo-type dataset for a dataset)" : "") +
                (hasToken ? "; if it is private, the token's account needs access to it." : $"; if it is private, set {Site.TokenVariable} to a token with access."))
            : status == 404 ? (HubErrorKind.FileNotFound, $"File '{path}' was not found in {repo} at revision '{revision}'{said}.")
            : status == 403 ? (HubErrorKind.Unauthorized,
                $"{Site.Name} denied access to {repo}{said}; make sure the token in {Site.TokenVariable} has read permission" +
                (hasToken ? "." : $" (none is set; set {Site.TokenVariable})."))
            : status == 429 ? (HubErrorKind.ServerError,
                $"{Site.Name} is rate-limiting requests{said}; wait a few minutes and retry" + (hasToken ? "." : $", or set {Site.TokenVariable} for a higher limit."))
            : (HubErrorKind.ServerError,
                $"{Site.Name} answered {status} {response.ReasonPhrase} for {response.RequestMessage?.RequestUri}{said}; retry later, or use the cached copy with --offline.");
        return new HubException(kind, message) { StatusCode = status };
    }

    /// <summary>The error text of a JSON body such as <c>{"error": "…"}</c>, if any.</summary>
    static async Task<string?> ServerMessageAsync(HttpResponseMessage response)
    {
        try
        {
            string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (body.Length == 0 || body[0] != '{') return null;
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return null; // The status alone will do.
        }
    }
}
