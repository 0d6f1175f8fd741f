using System.Net;
using System.Net.Sockets;
using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>Failures say what happened and what to do, and never leave a broken file in snapshots/.</summary>
public class HfErrorTests
{
    static FakeRepo Model(FakeHub hub, string id)
    {
        var repo = hub.AddRepo(id);
        repo.Commit("main", FakeContent.Text("config.json", "{}"), FakeContent.Lfs("model.safetensors", 50_000, 21));
        return repo;
    }

    [Fact]
    public async Task A_gated_repo_without_token_asks_to_accept_the_licence_and_set_HF_TOKEN()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "meta-llama/Gated-1B").Gated = true;
        using var client = bed.Client();

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("meta-llama/Gated-1B")));

        Assert.Equal(HubErrorKind.Gated, e.Kind);
        Assert.Equal(401, e.StatusCode);
        Assert.Contains("gated", e.Message, StringComparison.Ordinal);
        Assert.Contains("Accept the licence on " + bed.Hub.Endpoint + "/meta-llama/Gated-1B", e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(bed.RepoFolder("meta-llama/Gated-1B"), "snapshots")));
    }

    [Fact]
    public async Task A_gated_repo_with_an_unapproved_token_says_access_is_pending()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "google/gated-it").Gated = true;
        using var client = bed.Client(bed.Options(FakeHub.UnapprovedToken));

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("google/gated-it")));

        Assert.Equal(HubErrorKind.Gated, e.Kind);
        Assert.Equal(403, e.StatusCode);
        Assert.Contains("has no access yet", e.Message, StringComparison.Ordinal);
        Assert.Contains("not in the authorized list", e.Message, StringComparison.Ordinal); // The hub's own words are passed on.
    }

    [Fact]
    public async Task A_gated_repo_with_an_approved_token_downloads()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "google/gated-it").Gated = true;
        using var client = bed.Client(bed.Options(FakeHub.ValidToken));

        var snapshot = await client.DownloadAsync(new HubRepoId("google/gated-it"));

        Assert.Equal(2, snapshot.Files.Count);
    }

    [Fact]
    public async Task A_private_repo_without_token_reads_as_not_found_with_a_token_hint()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "org/private-model").Private = true;

        using (var anonymous = bed.Client())
        {
            var e = await Assert.ThrowsAsync<HubException>(() => anonymous.DownloadAsync(new HubRepoId("org/private-model")));
            Assert.Equal(HubErrorKind.RepositoryNotFound, e.Kind);
            Assert.Equal(401, e.StatusCode);
            Assert.Contains("set HF_TOKEN", e.Message, StringComparison.Ordinal);
        }
        using var withToken = bed.Client(bed.Options(FakeHub.ValidToken));
        Assert.Equal(2, (await withToken.DownloadAsync(new HubRepoId("org/private-model"))).Files.Count);
    }

    [Fact]
    public async Task A_missing_repo_and_a_missing_revision_are_told_apart()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "org/real");
        using var client = bed.Client(bed.Options(FakeHub.ValidToken));

        var repo = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/no-such-model")));
        Assert.Equal(HubErrorKind.RepositoryNotFound, repo.Kind);
        Assert.Equal(404, repo.StatusCode);
        Assert.Contains("org/no-such-model", repo.Message, StringComparison.Ordinal);
        Assert.Contains("--repo-type dataset", repo.Message, StringComparison.Ordinal);

        using var v9 = bed.Client(bed.Options(FakeHub.ValidToken) with { Revision = "v9" });
        var revision = await Assert.ThrowsAsync<HubException>(() => v9.DownloadAsync(new HubRepoId("org/real")));
        Assert.Equal(HubErrorKind.RevisionNotFound, revision.Kind);
        Assert.Contains("'v9'", revision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_token_is_reported_as_refused()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "org/real");
        using var client = bed.Client(bed.Options("hf_expired"));

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/real")));

        Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
        Assert.Contains("refused the token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupted_lfs_file_fails_the_sha256_check_and_is_deleted()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = FakeContent.Lfs("model.safetensors", 80_000, 22);
        bed.Hub.AddRepo("org/m").Commit("main", FakeContent.Text("config.json", "{}"), weights);
        bed.Hub.Corrupt[weights.Etag] = true;
        using var client = bed.Client();

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/m")));

        Assert.Equal(HubErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains("sha256", e.Message, StringComparison.Ordinal);
        Assert.Contains(weights.Sha256, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(bed.RepoFolder("org/m"), weights.Etag + "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFileSystemEntries(bed.RepoFolder("org/m"), "model.safetensors", SearchOption.AllDirectories));

        bed.Hub.Corrupt.Clear();
        var snapshot = await client.DownloadAsync(new HubRepoId("org/m"));
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
    }

    [Fact]
    public async Task A_corrupted_git_file_fails_the_git_blob_id_check()
    {
        await using var bed = await HubTestBed.StartAsync();
        var config = FakeContent.Text("config.json", """{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2}""");
        bed.Hub.AddRepo("org/m").Commit("main", config);
        bed.Hub.Corrupt[config.Etag] = true;
        using var client = bed.Client();

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/m")));

        Assert.Equal(HubErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains("git blob sha1", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(bed.RepoFolder("org/m"), "config.json*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task An_unreachable_hub_suggests_a_mirror_or_offline_mode()
    {
        await using var bed = await HubTestBed.StartAsync();
        using var client = bed.Client(bed.Options() with { Endpoint = ClosedPortEndpoint() });

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/anything")));

        Assert.Equal(HubErrorKind.NotInCache, e.Kind);
        var network = Assert.IsType<HubException>(e.InnerException);
        Assert.Equal(HubErrorKind.NoNetwork, network.Kind);
        Assert.Contains("connection failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_ENDPOINT", e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_HUB_OFFLINE", e.Message, StringComparison.Ordinal);
        Assert.Contains("holds no copy", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot stand in", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Name_resolution_failures_are_described_in_plain_words()
    {
        var failure = new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known", new SocketException((int)SocketError.HostNotFound));
        Assert.Contains("could not be resolved", HubHttp.Describe(failure), StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_hub_failing_with_500_falls_back_to_a_complete_cached_copy()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "org/m");
        using var client = bed.Client();
        var online = await client.DownloadAsync(new HubRepoId("org/m"));
        bed.Hub.ApiFails = true;

        var fallback = await client.DownloadAsync(new HubRepoId("org/m"));

        Assert.True(fallback.FromCacheOnly);
        Assert.Equal(online.Folder, fallback.Folder);
        Assert.Equal($"The Hugging Face hub answered 500; using the cached copy (commit {online.Commit[..12]}).", fallback.Notice);
        Assert.Contains("cached copy", fallback.Notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_little_free_space_fails_before_any_transfer()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub, "org/m");
        using var client = bed.Client(freeSpace: _ => 1000);

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/m")));

        Assert.Equal(HubErrorKind.DiskFull, e.Kind);
        Assert.Contains("HF_HUB_CACHE", e.Message, StringComparison.Ordinal);
        Assert.Contains("1 kB free", e.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Hub.Requests("cdn"));
        Assert.False(Directory.Exists(Path.Combine(bed.RepoFolder("org/m"), "snapshots")));
    }

    [Fact]
    public void A_full_disk_while_writing_is_reported_as_disk_full()
    {
        // /dev/full fails every write with ENOSPC: the real error the OS gives on a full disk.
        // Elsewhere the error is built with the code the OS would give (ERROR_DISK_FULL on Windows, ENOSPC on macOS).
        IOException error = OperatingSystem.IsWindows() ? new IOException("disk full", unchecked((int)0x80070070))
            : new IOException("No space left on device", 28);
        if (OperatingSystem.IsLinux())
        {
            try
            {
                using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
                full.Write(new byte[4096]);
                full.Flush(flushToDisk: true);
                throw new InvalidOperationException("/dev/full accepted a write");
            }
            catch (IOException e)
            {
                error = e;
            }
        }
        var translated = DiskErrors.Translate(error, "/cache/models--x--y/blobs/abc.incomplete");
        Assert.Equal(HubErrorKind.DiskFull, translated.Kind);
        Assert.Contains("Free some space", translated.Message, StringComparison.Ordinal);
        Assert.Equal(HubErrorKind.CacheNotWritable, DiskErrors.Translate(new IOException("Permission denied", 13), "/x").Kind);
    }

    static string ClosedPortEndpoint()
    {
        // A port that was just free: nothing listens there, so connecting is refused at once.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }
}
