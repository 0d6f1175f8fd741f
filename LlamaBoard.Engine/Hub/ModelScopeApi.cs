using System.Text.Json;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// ModelScope's HTTP API where it differs from Hugging Face's (shapes from modelscope's hub/api.py):
/// model files from <c>/api/v1/models/{id}/repo/files?Revision=&amp;Recursive=True</c> and bytes from
/// <c>/api/v1/models/{id}/repo?Revision=&amp;FilePath=</c>; datasets are looked up by id
/// (<c>/api/v1/datasets/{owner}/{name}</c> gives a numeric hub id), listed page by page from
/// <c>/api/v1/datasets/{hubId}/repo/tree</c> and fetched from <c>/api/v1/datasets/{owner}/{name}/repo?Source=SDK&amp;…</c>.
/// Answers are wrapped as <c>{"Code": 200, "Data": …, "Message": …}</c>; files carry their <c>Sha256</c>.
/// </summary>
internal sealed class ModelScopeApi(HubHttp http, HubOptions options)
{
    const int PageSize = 100;

    HubSite Site => http.Site;

    public Uri FileUrl(HubRepoId repo, string revision, string path) => repo.Type == HubRepoType.Dataset
        ? new Uri($"{Site.Endpoint}/api/v1/datasets/{repo.Id}/repo?Source=SDK&Revision={Uri.EscapeDataString(revision)}&FilePath={Uri.EscapeDataString(path)}")
        : new Uri($"{Site.Endpoint}/api/v1/models/{repo.Id}/repo?Revision={Uri.EscapeDataString(revision)}&FilePath={Uri.EscapeDataString(path)}");

    /// <summary>All files (not folders) of the repository at <paramref name="revision"/>, with sizes and sha256.</summary>
    public async Task<IReadOnlyList<HubFileEntry>> ListFilesAsync(HubRepoId repo, string revision, CancellationToken ct)
    {
        if (repo.Type == HubRepoType.Model)
        {
            var url = new Uri($"{Site.Endpoint}/api/v1/models/{repo.Id}/repo/files?Revision={Uri.EscapeDataString(revision)}&Recursive=True");
            using var json = await GetDataAsync(url, repo, revision, ct).ConfigureAwait(false);
            // ModelScope's own snapshot_download leaves out the git bookkeeping files.
            return Files(json.RootElement.GetProperty("Data"), url).Where(f => f.Path is not ".gitignore" and not ".gitattributes").ToList();
        }

        var idUrl = new Uri($"{Site.Endpoint}/api/v1/datasets/{repo.Id}");
        string hubId;
        using (var info = await GetDataAsync(idUrl, repo, revision, ct).ConfigureAwait(false))
            hubId = info.RootElement.GetProperty("Data").GetProperty("Id").ToString();
        var files = new List<HubFileEntry>();
        for (int page = 1; ; page++)
        {
            var url = new Uri($"{Site.Endpoint}/api/v1/datasets/{Uri.EscapeDataString(hubId)}/repo/tree?Revision={Uri.EscapeDataString(revision)}" +
                              $"&Root=%2F&Recursive=True&PageNumber={page}&PageSize={PageSize}");
            using var json = await GetDataAsync(url, repo, revision, ct).ConfigureAwait(false);
            var data = json.RootElement.GetProperty("Data");
            var items = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("Files", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.GetArrayLength() : 0;
            files.AddRange(Files(data, url));
            if (items < PageSize) return files;
        }
    }

    static IEnumerable<HubFileEntry> Files(JsonElement data, Uri url)
    {
        if (data.ValueKind != JsonValueKind.Object || !data.TryGetProperty("Files", out var files) || files.ValueKind != JsonValueKind.Array)
            yield break;
        foreach (var f in files.EnumerateArray())
        {
            if (f.TryGetProperty("Type", out var type) && type.GetString() == "tree") continue;
            if (!f.TryGetProperty("Path", out var path) || path.GetString() is not { Length: > 0 } p)
                throw new HubException(HubErrorKind.ServerError, $"{url} listed a file without a \"Path\".");
            long? size = f.TryGetProperty("Size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
            string? sha = f.TryGetProperty("Sha256", out var h) && h.ValueKind == JsonValueKind.String && h.GetString() is { Length: 64 } hex ? hex : null;
            yield return new HubFileEntry(p, size, null, sha);
        }
    }

    async Task<JsonDocument> GetDataAsync(Uri url, HubRepoId repo, string revision, CancellationToken ct)
    {
        var (json, _) = await http.GetJsonAsync(url, options.MetadataTimeout, r => ErrorAsync(r, repo, revision, null), ct).ConfigureAwait(false);
        var root = json.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Code", out var code) && code.ValueKind == JsonValueKind.Number && code.GetInt32() != 200)
        {
            string message = root.TryGetProperty("Message", out var m) ? m.GetString() ?? "" : "";
            int status = code.GetInt32();
            json.Dispose();
            throw Classify(status, message, repo, revision, null);
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Data", out _))
        {
            json.Dispose();
            throw new HubException(HubErrorKind.ServerError, $"{url} answered without ModelScope's \"Data\" field; is {Site.EndpointVariable}={Site.Endpoint} ModelScope?");
        }
        return json;
    }

    public async Task<HubException> ErrorAsync(HttpResponseMessage response, HubRepoId repo, string revision, string? path)
    {
        string message = "";
        try
        {
            string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (body.StartsWith('{'))
            {
                using var json = JsonDocument.Parse(body);
                message = json.RootElement.TryGetProperty("Message", out var m) ? m.GetString() ?? ""
                    : json.RootElement.TryGetProperty("message", out var m2) ? m2.GetString() ?? "" : "";
            }
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            // The status alone will do.
        }
        return Classify((int)response.StatusCode, message, repo, revision, path);
    }

    HubException Classify(int status, string serverMessage, HubRepoId repo, string revision, string? path)
    {
        string said = serverMessage.Length > 0 ? $" (ModelScope said: {serverMessage})" : "";
        bool hasToken = Site.Token is not null;
        var (kind, message) = status switch
        {
            404 when path is not null => (HubErrorKind.FileNotFound, $"File '{path}' was not found in {repo} at revision '{revision}' on ModelScope{said}."),
            404 or 10010205 => (HubErrorKind.RepositoryNotFound,
                $"{repo} (revision '{revision}') was not found on ModelScope ({Site.Endpoint}){said}. Check the id (ModelScope ids often differ from " +
                $"Hugging Face's, e.g. LLM-Research/… for Meta's models) and the revision" +
                (hasToken ? "." : $"; for a private repository set {Site.TokenVariable}.")),
            401 or 403 => (HubErrorKind.Unauthorized,
                $"ModelScope denied access to {repo}{said}; " + (hasToken
                    ? $"the token in {Site.TokenVariable} lacks access. If the model is gated, accept its licence on {Site.PageUrl(repo)}."
                    : $"set {Site.TokenVariable} to your ModelScope SDK token (and accept the licence on {Site.PageUrl(repo)} if the model is gated).")),
            _ => (HubErrorKind.ServerError, $"ModelScope answered {status} for {repo}{said}; retry later, or use the cached copy with --offline."),
        };
        return new HubException(kind, message) { StatusCode = status };
    }
}
