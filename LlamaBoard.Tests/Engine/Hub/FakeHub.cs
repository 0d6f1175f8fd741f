using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using LlamaBoard.Engine.Hub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>A request the fake hub received.</summary>
sealed record LoggedRequest(string Server, string Method, string Path, string? Range, string? Authorization, string? Cookie);

/// <summary>
/// A local stand-in for the Hugging Face hub, its LFS CDN, and ModelScope, served by Kestrel on 127.0.0.1 (two ports:
/// the hub and the "CDN"), with the real services' URL shapes, headers and error codes, plus fault injection: cut
/// connections, corrupted bytes, ignored Range headers, held transfers and parallelism counting.
/// </summary>
sealed class FakeHub : IAsyncDisposable
{
    public const string ValidToken = "hf_valid";
    public const string UnapprovedToken = "hf_not_approved";
    const int Chunk = 16 * 1024;

    readonly WebApplication app;
    int cdnPort;
    int inFlight;
    int datasetIds = 4700;

    FakeHub(WebApplication app) => this.app = app;

    public string Endpoint { get; private set; } = "";
    public string CdnEndpoint { get; private set; } = "";
    public ConcurrentDictionary<string, FakeRepo> Repos { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, FakeRepo> ModelScopeRepos { get; } = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int> numericIds = new(StringComparer.Ordinal);
    public ConcurrentQueue<LoggedRequest> Log { get; } = new();

    /// <summary>Files per page of the tree API (the real hub pages at 1000).</summary>
    public int TreePageSize { get; set; } = 1000;
    /// <summary>False: the tree API answers 404 without an error code, like an old mirror.</summary>
    public bool SupportsTree { get; set; } = true;
    /// <summary>Every API call answers 500.</summary>
    public bool ApiFails { get; set; }
    /// <summary>Old id → new id: the hub answers 307 with a relative Location, as for a renamed repository.</summary>
    public ConcurrentDictionary<string, string> Renames { get; } = new(StringComparer.Ordinal);

    /// <summary>Content etag → how many next GETs of it are cut after <see cref="CutAfterBytes"/> bytes.</summary>
    public ConcurrentDictionary<string, int> Cuts { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, int> CutAfterBytes { get; } = new(StringComparer.Ordinal);
    /// <summary>Etags whose bytes are served with one byte flipped.</summary>
    public ConcurrentDictionary<string, bool> Corrupt { get; } = new(StringComparer.Ordinal);
    /// <summary>Answer Range requests with the whole file (200), as some CDNs do.</summary>
    public bool IgnoreRange { get; set; }
    /// <summary>When set, GETs of <see cref="HoldEtag"/> stop after <see cref="HoldAfterBytes"/> bytes until it completes.</summary>
    public TaskCompletionSource? Hold { get; set; }
    public string? HoldEtag { get; set; }
    public int HoldAfterBytes { get; set; }
    /// <summary>Awaited by every file GET before its body is sent (parallelism tests).</summary>
    public Func<Task>? BeforeBody { get; set; }
    /// <summary>Most file GETs in flight at once.</summary>
    public int MaxInFlight { get; private set; }

    public static async Task<FakeHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var hub = new FakeHub(app);
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        hub.Endpoint = addresses[0].TrimEnd('/');
        hub.CdnEndpoint = addresses[1].TrimEnd('/');
        hub.cdnPort = new Uri(hub.CdnEndpoint).Port;
        return hub;
    }

    public FakeRepo AddRepo(string id, HubRepoType type = HubRepoType.Model)
    {
        var repo = new FakeRepo(id, type);
        Repos[Key(type, id)] = repo;
        return repo;
    }

    public FakeRepo AddModelScopeRepo(string id, HubRepoType type = HubRepoType.Model)
    {
        var repo = new FakeRepo(id, type);
        ModelScopeRepos[Key(type, id)] = repo;
        numericIds[Key(type, id)] = Interlocked.Increment(ref datasetIds);
        return repo;
    }

    public IEnumerable<LoggedRequest> Requests(string server) => Log.Where(r => r.Server == server);

    static string Key(HubRepoType type, string id) => $"{type}:{id}";

    async Task HandleAsync(HttpContext ctx)
    {
        // The raw target keeps %2F inside a revision such as refs%2Fpr%2F1 in one segment.
        string raw = ctx.Features.Get<IHttpRequestFeature>()!.RawTarget;
        string pathPart = raw.Split('?')[0];
        var segments = pathPart.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        bool cdn = ctx.Connection.LocalPort == cdnPort;
        Log.Enqueue(new LoggedRequest(cdn ? "cdn" : segments is ["api", "v1", ..] ? "modelscope" : "hub", ctx.Request.Method, raw,
            ctx.Request.Headers.Range.FirstOrDefault(), ctx.Request.Headers.Authorization.FirstOrDefault(), ctx.Request.Headers.Cookie.FirstOrDefault()));

        if (cdn)
        {
            var file = Repos.Values.SelectMany(r => r.Commits.Values).SelectMany(c => c.Values).FirstOrDefault(f => f.Lfs && segments is ["lfs", var sha] && f.Sha256 == sha);
            if (file is null) await Status(ctx, 404, null, "No such object");
            else await ServeAsync(ctx, file);
            return;
        }
        if (segments is ["api", "v1", ..])
        {
            await ModelScopeAsync(ctx, segments[2..]);
            return;
        }
        if (segments is ["api", "models" or "datasets", ..])
        {
            await ApiAsync(ctx, segments[1] == "datasets" ? HubRepoType.Dataset : HubRepoType.Model, segments[2..], raw);
            return;
        }
        var type = segments is ["datasets", ..] ? HubRepoType.Dataset : HubRepoType.Model;
        var rest = type == HubRepoType.Dataset ? segments[1..] : segments;
        if (rest is [var org, var name, "resolve", var revision, .. var path] && path.Length > 0)
        {
            await ResolveAsync(ctx, type, $"{org}/{name}", revision, string.Join('/', path), raw);
            return;
        }
        await Status(ctx, 404, null, "Not found");
    }

    async Task ApiAsync(HttpContext ctx, HubRepoType type, string[] rest, string raw)
    {
        if (rest is not [var org, var name, var kind, var revision, ..] || kind is not ("revision" or "tree"))
        {
            await Status(ctx, 404, null, "Not found");
            return;
        }
        string id = $"{org}/{name}";
        if (Renames.TryGetValue(id, out var renamed))
        {
            await Redirect(ctx, raw.Replace($"/{id}/", $"/{renamed}/", StringComparison.Ordinal));
            return;
        }
        if (ApiFails)
        {
            await Status(ctx, 500, null, "Internal Error");
            return;
        }
        if (kind == "tree" && !SupportsTree)
        {
            await Status(ctx, 404, null, "Not Found");
            return;
        }
        var repo = Repos.GetValueOrDefault(Key(type, id));
        if (!await CheckAccessAsync(ctx, repo, id, type, forFile: false)) return;
        string? commit = repo!.ResolveRevision(revision);
        if (commit is null)
        {
            await Status(ctx, 404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return;
        }
        var files = repo.Commits[commit].Values.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        if (kind == "revision")
        {
            await Json(ctx, new Dictionary<string, object?>
            {
                ["_id"] = "64b0c0ffee", ["id"] = id, ["sha"] = commit, ["private"] = repo.Private, ["gated"] = repo.Gated ? "auto" : false,
                ["siblings"] = files.Select(f => new Dictionary<string, object> { ["rfilename"] = f.Path }).ToList(),
            });
            return;
        }

        // The tree API lists folders too, and pages with a Link header.
        var items = new List<(string Path, Dictionary<string, object?> Json)>();
        foreach (string folder in files.SelectMany(f => Folders(f.Path)).Distinct())
            items.Add((folder, new() { ["type"] = "directory", ["oid"] = "0000000000000000000000000000000000000000", ["size"] = 0, ["path"] = folder }));
        foreach (var f in files)
        {
            var item = new Dictionary<string, object?> { ["type"] = "file", ["oid"] = f.GitOid, ["size"] = f.Content.Length, ["path"] = f.Path };
            if (f.Lfs) item["lfs"] = new Dictionary<string, object> { ["oid"] = f.Sha256, ["size"] = f.Content.Length, ["pointerSize"] = 134 };
            items.Add((f.Path, item));
        }
        items.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        int cursor = int.TryParse(ctx.Request.Query["cursor"], out int c) ? c : 0;
        var page = items.Skip(cursor).Take(TreePageSize).Select(i => i.Json).ToList();
        if (cursor + TreePageSize < items.Count)
            ctx.Response.Headers.Link = $"<{Endpoint}/api/{(type == HubRepoType.Dataset ? "datasets" : "models")}/{id}/tree/{Uri.EscapeDataString(revision)}?recursive=true&cursor={cursor + TreePageSize}>; rel=\"next\"";
        await Json(ctx, page);
    }

    static IEnumerable<string> Folders(string path)
    {
        var parts = path.Split('/');
        for (int i = 1; i < parts.Length; i++) yield return string.Join('/', parts[..i]);
    }

    async Task ResolveAsync(HttpContext ctx, HubRepoType type, string id, string revision, string path, string raw)
    {
        if (Renames.TryGetValue(id, out var renamed))
        {
            await Redirect(ctx, raw.Replace($"/{id}/", $"/{renamed}/", StringComparison.Ordinal));
            return;
        }
        var repo = Repos.GetValueOrDefault(Key(type, id));
        if (!await CheckAccessAsync(ctx, repo, id, type, forFile: true)) return;
        string? commit = repo!.ResolveRevision(revision);
        if (commit is null)
        {
            await Status(ctx, 404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return;
        }
        ctx.Response.Headers["X-Repo-Commit"] = commit;
        if (!repo.Commits[commit].TryGetValue(path, out var file))
        {
            await Status(ctx, 404, "EntryNotFound", "Entry not found");
            return;
        }
        ctx.Response.Headers.ETag = $"\"{file.GitOid}\"";
        if (file.Lfs)
        {
            ctx.Response.Headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
            ctx.Response.Headers["X-Linked-Size"] = file.Content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ctx.Response.Headers.Location = $"{CdnEndpoint}/lfs/{file.Sha256}?X-Amz-Signature=fake";
            ctx.Response.StatusCode = 302;
            return;
        }
        await ServeAsync(ctx, file);
    }

    async Task<bool> CheckAccessAsync(HttpContext ctx, FakeRepo? repo, string id, HubRepoType type, bool forFile)
    {
        string? auth = ctx.Request.Headers.Authorization.FirstOrDefault();
        string? token = auth?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? auth[7..] : null;
        if (token is not null && token is not ValidToken and not UnapprovedToken)
        {
            await Status(ctx, 401, null, "Invalid credentials in Authorization header");
            return false;
        }
        if (repo is null || (repo.Private && token != ValidToken))
        {
            // The hub cannot tell "missing" from "private and you may not see it": 401 without a token, 404 with one.
            await Status(ctx, token is null ? 401 : 404, "RepoNotFound", "Repository not found");
            return false;
        }
        if (repo.Gated && forFile && token != ValidToken)
        {
            string what = type == HubRepoType.Dataset ? "dataset" : "model";
            if (token is null) await Status(ctx, 401, "GatedRepo", $"Access to {what} {id} is restricted. You must have access to it and be authenticated to access it. Please log in.");
            else await Status(ctx, 403, "GatedRepo", $"Access to {what} {id} is restricted and you are not in the authorized list. Visit {Endpoint}/{id} to ask for access.");
            return false;
        }
        return true;
    }

    async Task ModelScopeAsync(HttpContext ctx, string[] rest)
    {
        string revision = ctx.Request.Query["Revision"].FirstOrDefault() ?? "master";
        if (rest is ["models", var org, var name, "repo", "files"])
        {
            var repo = ModelScopeRepos.GetValueOrDefault(Key(HubRepoType.Model, $"{org}/{name}"));
            string? commit = repo?.ResolveRevision(revision);
            if (commit is null)
            {
                ctx.Response.StatusCode = 404;
                await Json(ctx, new Dictionary<string, object?> { ["Code"] = 10010205, ["Message"] = $"model {org}/{name} not exists", ["Success"] = false });
                return;
            }
            await Json(ctx, MsFiles(repo!.Commits[commit], commit, 0, int.MaxValue));
            return;
        }
        if (rest is ["models", var morg, var mname, "repo"])
        {
            await MsServeAsync(ctx, HubRepoType.Model, $"{morg}/{mname}", revision);
            return;
        }
        if (rest is ["datasets", var dorg, var dname])
        {
            if (!numericIds.TryGetValue(Key(HubRepoType.Dataset, $"{dorg}/{dname}"), out int numeric))
            {
                await Json(ctx, new Dictionary<string, object?> { ["Code"] = 404, ["Message"] = "dataset not found", ["RequestId"] = "r1" });
                return;
            }
            await Json(ctx, new Dictionary<string, object?> { ["Code"] = 200, ["Data"] = new Dictionary<string, object> { ["Id"] = numeric, ["Type"] = 1 } });
            return;
        }
        if (rest is ["datasets", var numericId, "repo", "tree"])
        {
            var key = numericIds.FirstOrDefault(p => p.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) == numericId).Key;
            var repo = key is null ? null : ModelScopeRepos.GetValueOrDefault(key);
            string? commit = repo?.ResolveRevision(revision);
            int pageNumber = int.Parse(ctx.Request.Query["PageNumber"].FirstOrDefault() ?? "1", System.Globalization.CultureInfo.InvariantCulture);
            int pageSize = int.Parse(ctx.Request.Query["PageSize"].FirstOrDefault() ?? "100", System.Globalization.CultureInfo.InvariantCulture);
            if (commit is null)
            {
                await Json(ctx, new Dictionary<string, object?> { ["Code"] = 404, ["Message"] = "revision not found", ["RequestId"] = "r2" });
                return;
            }
            await Json(ctx, MsFiles(repo!.Commits[commit], commit, (pageNumber - 1) * pageSize, pageSize));
            return;
        }
        if (rest is ["datasets", var sorg, var sname, "repo"])
        {
            await MsServeAsync(ctx, HubRepoType.Dataset, $"{sorg}/{sname}", revision);
            return;
        }
        await Status(ctx, 404, null, "Not found");
    }

    static Dictionary<string, object?> MsFiles(Dictionary<string, FakeFile> files, string commit, int skip, int take)
    {
        // ModelScope lists folders as "tree" entries beside the "blob" files.
        var entries = files.Values.SelectMany(f => Folders(f.Path)).Distinct()
            .Select(d => (d, (object)new Dictionary<string, object?> { ["Name"] = d.Split('/')[^1], ["Path"] = d, ["Type"] = "tree", ["Size"] = 0 }))
            .Concat(files.Values.Select(f => (f.Path, (object)new Dictionary<string, object?>
            {
                ["Name"] = f.Path.Split('/')[^1], ["Path"] = f.Path, ["Type"] = "blob", ["Size"] = f.Content.Length,
                ["Sha256"] = f.Sha256, ["Revision"] = commit, ["IsLFS"] = f.Lfs,
            })))
            .OrderBy(e => e.Item1, StringComparer.Ordinal).Skip(skip).Take(take).Select(e => e.Item2).ToList();
        return new() { ["Code"] = 200, ["Data"] = new Dictionary<string, object?> { ["Files"] = entries }, ["Message"] = "success", ["Success"] = true };
    }

    async Task MsServeAsync(HttpContext ctx, HubRepoType type, string id, string revision)
    {
        var repo = ModelScopeRepos.GetValueOrDefault(Key(type, id));
        string? commit = repo?.ResolveRevision(revision);
        string path = ctx.Request.Query["FilePath"].FirstOrDefault() ?? "";
        if (commit is null || !repo!.Commits[commit].TryGetValue(path, out var file))
        {
            ctx.Response.StatusCode = 404;
            await Json(ctx, new Dictionary<string, object?> { ["Code"] = 404, ["Message"] = "file not found" });
            return;
        }
        await ServeAsync(ctx, file);
    }

    /// <summary>Sends a file with Range support and the configured faults.</summary>
    async Task ServeAsync(HttpContext ctx, FakeFile file)
    {
        byte[] content = file.Content;
        if (Corrupt.ContainsKey(file.Etag))
        {
            content = (byte[])content.Clone();
            content[content.Length / 2] ^= 0xFF;
        }
        long start = 0;
        string? range = ctx.Request.Headers.Range.FirstOrDefault();
        if (range is not null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= content.Length)
            {
                ctx.Response.Headers.ContentRange = $"bytes */{content.Length}";
                ctx.Response.StatusCode = 416;
                return;
            }
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        ctx.Response.ContentLength = content.Length - start;
        ctx.Response.ContentType = "application/octet-stream";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;

        int now = Interlocked.Increment(ref inFlight);
        lock (Log) MaxInFlight = Math.Max(MaxInFlight, now);
        try
        {
            if (BeforeBody is { } before) await before();
            int? cutAt = Cuts.TryGetValue(file.Etag, out int left) && left > 0 && Cuts.TryUpdate(file.Etag, left - 1, left)
                ? CutAfterBytes.GetValueOrDefault(file.Etag) : null;
            var hold = HoldEtag == file.Etag ? Hold : null;
            long sent = 0;
            for (long at = start; at < content.Length;)
            {
                int n = (int)Math.Min(Chunk, content.Length - at);
                if (cutAt is { } cut) n = (int)Math.Min(n, Math.Max(0, cut - sent));
                if (hold is not null && sent < HoldAfterBytes) n = (int)Math.Min(n, HoldAfterBytes - sent);
                if (n > 0)
                {
                    await ctx.Response.Body.WriteAsync(content.AsMemory((int)at, n));
                    at += n;
                    sent += n;
                }
                if (cutAt is { } c && sent >= c)
                {
                    await ctx.Response.Body.FlushAsync();
                    // Give the client time to read what was sent: an abort resets the connection, and a reset
                    // discards bytes still waiting in the client's socket buffer.
                    await Task.Delay(200);
                    ctx.Abort(); // The connection drops mid-file.
                    return;
                }
                if (hold is not null && sent >= HoldAfterBytes)
                {
                    await ctx.Response.Body.FlushAsync();
                    await Task.WhenAny(hold.Task, Task.Delay(Timeout.Infinite, ctx.RequestAborted));
                    if (ctx.RequestAborted.IsCancellationRequested) return;
                    hold = null;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The client went away (a cancelled download): nothing to do.
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    static async Task Status(HttpContext ctx, int status, string? code, string message)
    {
        ctx.Response.StatusCode = status;
        if (code is not null) ctx.Response.Headers["X-Error-Code"] = code;
        ctx.Response.Headers["X-Error-Message"] = message;
        await Json(ctx, new Dictionary<string, object> { ["error"] = message });
    }

    static Task Redirect(HttpContext ctx, string relative)
    {
        ctx.Response.StatusCode = 307;
        ctx.Response.Headers.Location = relative;
        return Task.CompletedTask;
    }

    static async Task Json(HttpContext ctx, object value)
    {
        ctx.Response.ContentType = "application/json";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(value));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
