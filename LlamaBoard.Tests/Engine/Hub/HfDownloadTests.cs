using System.Text.Json;
using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>Downloads from the fake Hugging Face hub: URL shapes, the huggingface_hub cache layout, reuse and selection.</summary>
public class HfDownloadTests
{
    static (FakeRepo Repo, string Commit, FakeFile[] Files) SmallModel(FakeHub hub, string id = "org/tiny-model")
    {
        var repo = hub.AddRepo(id);
        FakeFile[] files =
        [
            FakeContent.Text("config.json", """{"model_type": "qwen2", "hidden_size": 32}"""),
            FakeContent.Text("tokenizer.json", """{"model": {"type": "BPE"}}"""),
            FakeContent.Lfs("model.safetensors", 300_000, seed: 1),
            FakeContent.Text("sub/notes.txt", "nested file"),
        ];
        return (repo, repo.Commit("main", files), files);
    }

    [Fact]
    public async Task Download_writes_the_huggingface_hub_cache_layout()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (_, commit, files) = SmallModel(bed.Hub);
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        string repoFolder = bed.RepoFolder("org/tiny-model");
        Assert.Equal(Path.Combine(bed.CacheDir, "models--org--tiny-model"), repoFolder);
        Assert.Equal(Path.Combine(repoFolder, "snapshots", commit), snapshot.Folder);
        Assert.Equal(commit, snapshot.Commit);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(repoFolder, "refs", "main")));

        // Blobs are named by etag: git blob id for files in git, sha256 for LFS files.
        var blobs = Directory.GetFiles(Path.Combine(repoFolder, "blobs")).Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.Equal(files.Select(f => f.Etag).Order().ToList(), blobs);
        foreach (var f in files)
        {
            string pointer = Path.Combine(snapshot.Folder, f.Path.Replace('/', Path.DirectorySeparatorChar));
            var link = new FileInfo(pointer);
            Assert.NotNull(link.LinkTarget);
            string expectedTarget = string.Concat(Enumerable.Repeat("../", f.Path.Count(c => c == '/') + 2)) + "blobs/" + f.Etag;
            Assert.Equal(expectedTarget, link.LinkTarget!.Replace('\\', '/'));
            Assert.Equal(f.Content, File.ReadAllBytes(pointer));
        }

        // The commit's listing is cached as huggingface_hub's trees/{commit}.json (format_version 1).
        using var tree = JsonDocument.Parse(File.ReadAllText(Path.Combine(repoFolder, "trees", commit + ".json")));
        Assert.Equal(1, tree.RootElement.GetProperty("format_version").GetInt32());
        var lfsEntry = tree.RootElement.GetProperty("files").GetProperty("model.safetensors");
        Assert.Equal(files[2].Sha256, lfsEntry.GetProperty("lfs_sha256").GetString());
        Assert.Equal(files[2].GitOid, lfsEntry.GetProperty("blob_id").GetString());
        Assert.Equal(300_000, lfsEntry.GetProperty("size").GetInt64());
        Assert.False(tree.RootElement.GetProperty("files").GetProperty("config.json").TryGetProperty("lfs_sha256", out _));

        Assert.Empty(Directory.EnumerateFiles(bed.CacheDir, "*.incomplete", SearchOption.AllDirectories));
        Assert.Equal(files.Sum(f => (long)f.Content.Length), snapshot.BytesDownloaded);
    }

    [Fact]
    public async Task Requests_use_the_hub_url_shapes_and_the_cdn_gets_no_token()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (_, commit, _) = SmallModel(bed.Hub);
        using var client = bed.Client(bed.Options(FakeHub.ValidToken));

        await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        var hub = bed.Hub.Requests("hub").ToList();
        Assert.Contains(hub, r => r.Method == "GET" && r.Path == "/api/models/org/tiny-model/revision/main");
        Assert.Contains(hub, r => r.Method == "GET" && r.Path == $"/api/models/org/tiny-model/tree/{commit}?recursive=true");
        Assert.Contains(hub, r => r.Method == "HEAD" && r.Path == $"/org/tiny-model/resolve/{commit}/sub/notes.txt");
        Assert.All(hub, r => Assert.Equal("Bearer " + FakeHub.ValidToken, r.Authorization));
        var cdn = Assert.Single(bed.Hub.Requests("cdn"));
        Assert.StartsWith("/lfs/", cdn.Path, StringComparison.Ordinal);
        Assert.Null(cdn.Authorization); // A signed CDN URL must never see the user's token.
    }

    [Fact]
    public async Task Second_download_takes_everything_from_the_cache()
    {
        await using var bed = await HubTestBed.StartAsync();
        SmallModel(bed.Hub);
        using var client = bed.Client();
        var first = await client.DownloadAsync(new HubRepoId("org/tiny-model"));
        int before = bed.Hub.Log.Count;

        var log = new ProgressLog();
        var second = await client.DownloadAsync(new HubRepoId("org/tiny-model"), progress: log);

        Assert.Equal(first.Folder, second.Folder);
        Assert.Equal(0, second.BytesDownloaded);
        // Only the revision lookup: the listing comes from trees/, the files from snapshots/.
        Assert.Equal(["/api/models/org/tiny-model/revision/main"], bed.Hub.Log.Skip(before).Select(r => r.Path).ToArray());
        var last = log.Reports[^1];
        Assert.Equal(DownloadPhase.Completed, last.Phase);
        Assert.Equal(last.BytesTotal, last.BytesDone);
    }

    [Fact]
    public async Task A_new_commit_on_the_branch_reuses_unchanged_blobs()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (repo, firstCommit, files) = SmallModel(bed.Hub);
        using var client = bed.Client();
        await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        var changed = FakeContent.Text("config.json", """{"model_type": "qwen2", "hidden_size": 64}""");
        string secondCommit = repo.Commit("main", [changed, .. files.Skip(1)]);
        bed.Hub.Log.Clear();
        var snapshot = await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        Assert.Equal(secondCommit, File.ReadAllText(Path.Combine(bed.RepoFolder("org/tiny-model"), "refs", "main")));
        Assert.Equal(changed.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "config.json")));
        Assert.True(Directory.Exists(Path.Combine(bed.RepoFolder("org/tiny-model"), "snapshots", firstCommit)));
        // Only the changed file travelled; the LFS blob was linked from the cache without a CDN request.
        Assert.Empty(bed.Hub.Requests("cdn"));
        Assert.Equal(changed.Content.Length, snapshot.BytesDownloaded);
    }

    [Fact]
    public async Task Tree_pages_are_followed_through_link_headers()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.TreePageSize = 2;
        var repo = bed.Hub.AddRepo("org/many-files");
        var files = Enumerable.Range(0, 7).Select(i => FakeContent.Text($"f{i}.json", $"{{\"i\": {i}}}")).ToArray();
        repo.Commit("main", files);
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/many-files"));

        Assert.Equal(files.Select(f => f.Path).Order().ToList(), snapshot.Files);
        Assert.True(bed.Hub.Requests("hub").Count(r => r.Path.Contains("/tree/", StringComparison.Ordinal)) >= 4);
    }

    [Fact]
    public async Task Without_a_tree_api_the_siblings_list_and_head_sizes_are_used()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.SupportsTree = false;
        var (_, commit, files) = SmallModel(bed.Hub);
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        Assert.Equal(files.Select(f => f.Path).Order().ToList(), snapshot.Files);
        foreach (var f in files) Assert.Equal(f.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, f.Path)));
        // No sizes from the listing, so no trees/ file is written (huggingface_hub writes only complete listings).
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder("org/tiny-model"), "trees", commit + ".json")));
    }

    [Fact]
    public async Task Include_and_exclude_globs_select_files_like_fnmatch()
    {
        await using var bed = await HubTestBed.StartAsync();
        SmallModel(bed.Hub);
        using var client = bed.Client();

        var json = await client.DownloadAsync(new HubRepoId("org/tiny-model"), new HubFileFilter { Include = ["*.json"], Exclude = ["tok*"] });
        Assert.Equal(["config.json"], json.Files);
        Assert.Empty(bed.Hub.Requests("cdn"));

        var folder = await client.DownloadAsync(new HubRepoId("org/tiny-model"), new HubFileFilter { Include = ["sub/"] });
        Assert.Equal(["sub/notes.txt"], folder.Files);

        var none = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/tiny-model"), new HubFileFilter { Include = ["*.gguf"] }));
        Assert.Equal(HubErrorKind.InvalidRequest, none.Kind);
        Assert.Contains("*.gguf", none.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Model_files_take_the_index_shards_and_leave_out_duplicates()
    {
        await using var bed = await HubTestBed.StartAsync();
        var repo = bed.Hub.AddRepo("org/sharded");
        string index = """{"metadata": {"total_size": 2}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00002-of-00002.safetensors"}}""";
        repo.Commit("main",
            FakeContent.Text("config.json", "{}"),
            FakeContent.Text("generation_config.json", "{}"),
            FakeContent.Text("tokenizer_config.json", "{}"),
            FakeContent.Text("tokenizer.model", "sp"),
            FakeContent.Text("chat_template.jinja", "{{ messages }}"),
            FakeContent.Text("model.safetensors.index.json", index),
            FakeContent.Lfs("model-00001-of-00002.safetensors", 5000, 2),
            FakeContent.Lfs("model-00002-of-00002.safetensors", 5000, 3),
            FakeContent.Lfs("consolidated.safetensors", 10000, 4),
            FakeContent.Lfs("original/consolidated.00.pth", 10000, 5),
            FakeContent.Text("README.md", "# card"),
            FakeContent.Text(".gitattributes", "*.safetensors filter=lfs"));
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/sharded"), HubFileFilter.ModelFiles);

        Assert.Equal(
            ["chat_template.jinja", "config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
             "model.safetensors.index.json", "tokenizer.model", "tokenizer_config.json"],
            snapshot.Files);
        Assert.Equal(snapshot.Files, HubTestBed.ReadTree(snapshot.Folder).Keys.Order(StringComparer.Ordinal).ToList());
        Assert.Equal(2, bed.Hub.Requests("cdn").Count());
        // The three "{}" files share one blob, fetched once (files with the same etag are one download).
        Assert.Equal(HubTestBed.ReadTree(snapshot.Folder).Values.DistinctBy(Convert.ToHexString).Sum(b => (long)b.Length), snapshot.BytesDownloaded);
    }

    [Fact]
    public async Task Model_files_refuse_a_repo_with_only_pickle_weights()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.AddRepo("org/old-model").Commit("main", FakeContent.Text("config.json", "{}"), FakeContent.Lfs("pytorch_model.bin", 1000, 6));
        using var client = bed.Client();

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/old-model"), HubFileFilter.ModelFiles));

        Assert.Equal(HubErrorKind.NoUsableFiles, e.Kind);
        Assert.Contains("safetensors", e.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Hub.Requests("cdn"));
    }

    [Fact]
    public async Task Datasets_use_the_datasets_prefix_and_folder()
    {
        await using var bed = await HubTestBed.StartAsync();
        var repo = bed.Hub.AddRepo("llamafactory/demo-data", HubRepoType.Dataset);
        repo.Commit("main",
            FakeContent.Text("README.md", "card"),
            FakeContent.Text("en/train.json", """[{"instruction": "hi", "output": "hello"}]"""),
            FakeContent.Lfs("zh/train.parquet", 2000, 7));
        using var client = bed.Client();

        var snapshot = await client.DownloadDatasetAsync("llamafactory/demo-data", msHubUrl: null, folder: "en");

        Assert.Equal(HubRepoType.Dataset, snapshot.Repo.Type);
        Assert.Equal(Path.Combine(bed.CacheDir, "datasets--llamafactory--demo-data", "snapshots", snapshot.Commit), snapshot.Folder);
        Assert.Equal(["en/train.json"], snapshot.Files);
        Assert.Contains(bed.Hub.Requests("hub"), r => r.Path == "/api/datasets/llamafactory/demo-data/revision/main");
        Assert.Contains(bed.Hub.Requests("hub"), r => r.Method == "HEAD" && r.Path == $"/datasets/llamafactory/demo-data/resolve/{snapshot.Commit}/en/train.json");
    }

    [Fact]
    public async Task A_renamed_repository_is_followed_through_relative_redirects()
    {
        await using var bed = await HubTestBed.StartAsync();
        SmallModel(bed.Hub, "org/new-name");
        bed.Hub.Renames["org/old-name"] = "org/new-name";
        using var client = bed.Client(bed.Options(FakeHub.ValidToken));

        var snapshot = await client.DownloadAsync(new HubRepoId("org/old-name"), new HubFileFilter { Include = ["config.json"] });

        Assert.Contains("models--org--old-name", snapshot.Folder, StringComparison.Ordinal);
        Assert.Contains(bed.Hub.Requests("hub"), r => r.Path.StartsWith("/api/models/org/new-name/", StringComparison.Ordinal) && r.Authorization is not null);
    }

    [Fact]
    public async Task A_revision_with_slashes_is_escaped_in_urls_and_nested_in_refs()
    {
        await using var bed = await HubTestBed.StartAsync();
        var (repo, _, files) = SmallModel(bed.Hub);
        string pr = repo.Commit("refs/pr/1", files[0]);
        using var client = bed.Client(bed.Options() with { Revision = "refs/pr/1" });

        var snapshot = await client.DownloadAsync(new HubRepoId("org/tiny-model"));

        Assert.Equal(pr, snapshot.Commit);
        Assert.Contains(bed.Hub.Requests("hub"), r => r.Path == "/api/models/org/tiny-model/revision/refs%2Fpr%2F1");
        Assert.Equal(pr, File.ReadAllText(Path.Combine(bed.RepoFolder("org/tiny-model"), "refs", "refs", "pr", "1")));
    }
}
