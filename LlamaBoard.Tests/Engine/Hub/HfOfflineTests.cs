using System.Security.Cryptography;
using System.Text;
using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>Offline mode and the reuse of caches written by Python's huggingface_hub.</summary>
public class HfOfflineTests
{
    static async Task<(HubSnapshot Snapshot, FakeRepo Repo)> DownloadOnce(HubTestBed bed, string id = "org/m")
    {
        var repo = bed.Hub.AddRepo(id);
        repo.Commit("main", FakeContent.Text("config.json", "{}"), FakeContent.Text("tokenizer.json", "{\"v\": 1}"), FakeContent.Lfs("model.safetensors", 30_000, 31));
        using var client = bed.Client();
        return (await client.DownloadAsync(new HubRepoId(id)), repo);
    }

    [Fact]
    public async Task Offline_mode_resolves_the_branch_through_refs_without_any_request()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (online, _) = await DownloadOnce(bed);
        int requests = bed.Hub.Log.Count;
        using var offline = bed.Client(bed.Options() with { Offline = true });

        var snapshot = await offline.DownloadAsync(new HubRepoId("org/m"));

        Assert.Equal(online.Folder, snapshot.Folder);
        Assert.Equal(online.Files, snapshot.Files);
        Assert.True(snapshot.FromCacheOnly);
        Assert.Null(snapshot.Notice);
        Assert.Equal(requests, bed.Hub.Log.Count);
    }

    [Fact]
    public async Task FindCached_tells_downloaded_models_apart_without_network()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (online, _) = await DownloadOnce(bed);
        bed.Hub.AddRepo("org/other").Commit("main", FakeContent.Text("config.json", "{}"));
        int requests = bed.Hub.Log.Count;
        using var client = bed.Client();

        Assert.Equal(online.Folder, (await client.FindCachedAsync(new HubRepoId("org/m")))?.Folder);
        Assert.Null(await client.FindCachedAsync(new HubRepoId("org/other")));
        Assert.Equal(requests, bed.Hub.Log.Count);
    }

    [Fact]
    public async Task Offline_mode_accepts_a_commit_hash_revision()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (online, _) = await DownloadOnce(bed);
        using var offline = bed.Client(bed.Options() with { Offline = true, Revision = online.Commit });

        Assert.Equal(online.Folder, (await offline.DownloadAsync(new HubRepoId("org/m"))).Folder);
    }

    [Fact]
    public async Task Offline_mode_without_a_cached_copy_says_how_to_get_one()
    {
        await using var bed = await HubTestBed.StartAsync();
        using var offline = bed.Client(bed.Options() with { Offline = true });

        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadAsync(new HubRepoId("org/never-downloaded")));

        Assert.Equal(HubErrorKind.NotInCache, e.Kind);
        Assert.Contains("Offline mode is on", e.Message, StringComparison.Ordinal);
        Assert.Contains("llamaboard download org/never-downloaded", e.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Hub.Log);
    }

    [Fact]
    public async Task Offline_mode_refuses_an_incomplete_snapshot_and_names_the_missing_file()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (online, _) = await DownloadOnce(bed);
        File.Delete(Path.Combine(online.Folder, "tokenizer.json"));
        // A snapshot entry whose blob was deleted by hand is just as missing.
        File.Delete(Path.Combine(bed.RepoFolder("org/m"), "blobs", new FakeFile("model.safetensors", FakeContent.Bytes(30_000, 31), true).Etag));
        using var offline = bed.Client(bed.Options() with { Offline = true });

        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadAsync(new HubRepoId("org/m")));

        Assert.Equal(HubErrorKind.NotInCache, e.Kind);
        Assert.Contains("incomplete", e.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);

        // With a selection that avoids the missing files, the cached copy serves.
        var config = await offline.DownloadAsync(new HubRepoId("org/m"), new HubFileFilter { Include = ["config.json"] });
        Assert.Equal(["config.json"], config.Files);
    }

    [Fact]
    public async Task An_unreachable_hub_falls_back_to_the_cache_with_a_notice()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (online, _) = await DownloadOnce(bed);
        string endpoint = bed.Hub.Endpoint;
        await bed.Hub.DisposeAsync(); // The hub goes away: connections are refused.
        using var client = bed.Client(bed.Options() with { Endpoint = endpoint });

        var snapshot = await client.DownloadAsync(new HubRepoId("org/m"));

        Assert.Equal(online.Folder, snapshot.Folder);
        Assert.True(snapshot.FromCacheOnly);
        Assert.StartsWith("The Hugging Face hub could not be reached; using the cached copy", snapshot.Notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cache_laid_out_by_python_huggingface_hub_is_used_as_it_is()
    {
        // Built by hand the way hf_hub_download lays it out (no trees/ listing: older huggingface_hub versions wrote none).
        await using var bed = await HubTestBed.StartAsync();
        string repoFolder = bed.RepoFolder("Qwen/Qwen2.5-0.5B-Instruct");
        string commit = "7ae557604adf67be50417f59c2c2f167def9a775";
        byte[] config = Encoding.UTF8.GetBytes("{\"model_type\": \"qwen2\"}");
        byte[] weights = FakeContent.Bytes(5000, 41);
        string configEtag = FakeFile.GitBlobId(config);
        string weightsEtag = Convert.ToHexStringLower(SHA256.HashData(weights));
        Directory.CreateDirectory(Path.Combine(repoFolder, "blobs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "refs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "snapshots", commit));
        File.WriteAllBytes(Path.Combine(repoFolder, "blobs", configEtag), config);
        File.WriteAllBytes(Path.Combine(repoFolder, "blobs", weightsEtag), weights);
        File.WriteAllText(Path.Combine(repoFolder, "refs", "main"), commit);
        File.CreateSymbolicLink(Path.Combine(repoFolder, "snapshots", commit, "config.json"), "../../blobs/" + configEtag);
        File.CreateSymbolicLink(Path.Combine(repoFolder, "snapshots", commit, "model.safetensors"), "../../blobs/" + weightsEtag);
        using var offline = bed.Client(bed.Options() with { Offline = true });

        var snapshot = await offline.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"), HubFileFilter.ModelFiles);

        Assert.Equal(Path.Combine(repoFolder, "snapshots", commit), snapshot.Folder);
        Assert.Equal(["config.json", "model.safetensors"], snapshot.Files);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
    }

    [Fact]
    public async Task Files_already_in_a_python_written_cache_are_not_downloaded_again()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = FakeContent.Lfs("model.safetensors", 30_000, 51);
        string commit = bed.Hub.AddRepo("org/m").Commit("main", FakeContent.Text("config.json", "{}"), weights);
        // Python left the blob and its snapshot link; no refs, no trees.
        string repoFolder = bed.RepoFolder("org/m");
        Directory.CreateDirectory(Path.Combine(repoFolder, "blobs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "snapshots", commit));
        File.WriteAllBytes(Path.Combine(repoFolder, "blobs", weights.Etag), weights.Content);
        File.CreateSymbolicLink(Path.Combine(repoFolder, "snapshots", commit, "model.safetensors"), "../../blobs/" + weights.Etag);
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/m"));

        Assert.Equal(2, snapshot.Files.Count);
        Assert.Empty(bed.Hub.Requests("cdn"));
        Assert.Equal(2, snapshot.BytesDownloaded);
    }
}
