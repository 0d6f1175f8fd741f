using System.Text.Json;
using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>ModelScope: its own API shapes, cache layout, sha256 checks, resume and offline use.</summary>
public class ModelScopeDownloadTests
{
    static HubOptions ModelScope(HubTestBed bed) => bed.Options() with { Source = HubSource.ModelScope };

    static FakeFile[] Model(FakeHub hub, string id = "Qwen/Qwen2.5-0.5B-Instruct")
    {
        FakeFile[] files =
        [
            FakeContent.Text("config.json", """{"model_type": "qwen2"}"""),
            FakeContent.Text("configuration.json", """{"framework": "pytorch"}"""),
            FakeContent.Lfs("model.safetensors", 120_000, 61),
            FakeContent.Text("sub/extra.txt", "nested"),
            FakeContent.Text(".gitattributes", "*.safetensors filter=lfs"),
        ];
        hub.AddModelScopeRepo(id).Commit("master", files);
        return files;
    }

    [Fact]
    public async Task Model_lands_in_modelscope_cache_layout_with_dots_escaped()
    {
        await using var bed = await HubTestBed.StartAsync();
        var files = Model(bed.Hub);
        using var client = bed.Client(ModelScope(bed));

        var snapshot = await client.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));

        Assert.Equal(HubSource.ModelScope, snapshot.Source);
        Assert.Equal(Path.Combine(bed.ModelScopeCacheDir, "models", "Qwen", "Qwen2___5-0___5B-Instruct"), snapshot.Folder);
        Assert.Equal(["config.json", "configuration.json", "model.safetensors", "sub/extra.txt"], snapshot.Files);
        foreach (var f in files.Where(f => f.Path != ".gitattributes"))
            Assert.Equal(f.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, f.Path)));
        var requests = bed.Hub.Requests("modelscope").Select(r => r.Path).ToList();
        Assert.Contains("/api/v1/models/Qwen/Qwen2.5-0.5B-Instruct/repo/files?Revision=master&Recursive=True", requests);
        Assert.Contains("/api/v1/models/Qwen/Qwen2.5-0.5B-Instruct/repo?Revision=master&FilePath=sub%2Fextra.txt", requests);
        Assert.Empty(Directory.EnumerateFiles(bed.ModelScopeCacheDir, "*.incomplete", SearchOption.AllDirectories));

        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(snapshot.Folder, ".llamaboard.json")));
        var entry = manifest.RootElement.GetProperty("revisions").GetProperty("master").GetProperty("files").GetProperty("model.safetensors");
        Assert.Equal(files[2].Sha256, entry.GetProperty("sha256").GetString());
        Assert.True(entry.GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task Main_is_read_as_master_and_a_second_run_transfers_nothing()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub);
        using var client = bed.Client(ModelScope(bed) with { Revision = "main" });
        await client.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));
        int fileGets = bed.Hub.Requests("modelscope").Count(r => r.Path.Contains("FilePath=", StringComparison.Ordinal));

        var again = await client.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));

        Assert.Equal(0, again.BytesDownloaded);
        Assert.Equal(fileGets, bed.Hub.Requests("modelscope").Count(r => r.Path.Contains("FilePath=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Files_left_by_the_python_sdk_are_reused_when_their_sha256_matches()
    {
        await using var bed = await HubTestBed.StartAsync();
        var files = Model(bed.Hub);
        string folder = Path.Combine(bed.ModelScopeCacheDir, "models", "Qwen", "Qwen2___5-0___5B-Instruct");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), files[2].Content);
        File.WriteAllBytes(Path.Combine(folder, "config.json"), new byte[files[0].Content.Length]); // Same size, wrong bytes.
        using var client = bed.Client(ModelScope(bed));

        var snapshot = await client.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));

        var fetched = bed.Hub.Requests("modelscope").Where(r => r.Path.Contains("FilePath=", StringComparison.Ordinal)).Select(r => r.Path).ToList();
        Assert.DoesNotContain(fetched, p => p.Contains("model.safetensors", StringComparison.Ordinal));
        Assert.Contains(fetched, p => p.Contains("FilePath=config.json", StringComparison.Ordinal));
        Assert.Equal(files[0].Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "config.json")));
    }

    [Fact]
    public async Task A_cut_transfer_resumes_and_a_corrupted_file_is_rejected()
    {
        await using var bed = await HubTestBed.StartAsync();
        var files = Model(bed.Hub);
        bed.Hub.Cuts[files[2].Etag] = 1;
        bed.Hub.CutAfterBytes[files[2].Etag] = 40_000;
        using var client = bed.Client(ModelScope(bed));

        var snapshot = await client.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));
        Assert.Equal(files[2].Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        Assert.Contains(bed.Hub.Requests("modelscope"), r => r.Range is not null && r.Path.Contains("model.safetensors", StringComparison.Ordinal));

        var other = FakeContent.Lfs("model.safetensors", 10_000, 62);
        bed.Hub.AddModelScopeRepo("LLM-Research/Other").Commit("master", other);
        bed.Hub.Corrupt[other.Etag] = true;
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("LLM-Research/Other")));
        Assert.Equal(HubErrorKind.ChecksumMismatch, e.Kind);
        Assert.False(File.Exists(Path.Combine(bed.ModelScopeCacheDir, "models", "LLM-Research", "Other", "model.safetensors")));
        Assert.Empty(Directory.EnumerateFiles(bed.ModelScopeCacheDir, "*.incomplete", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_missing_model_names_modelscope_ids()
    {
        await using var bed = await HubTestBed.StartAsync();
        using var client = bed.Client(ModelScope(bed));

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("meta-llama/Llama-3.2-1B-Instruct")));

        Assert.Equal(HubErrorKind.RepositoryNotFound, e.Kind);
        Assert.Contains("LLM-Research", e.Message, StringComparison.Ordinal);
        Assert.Contains("not exists", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offline_mode_uses_the_manifest_to_judge_completeness()
    {
        await using var bed = await HubTestBed.StartAsync();
        Model(bed.Hub);
        using (var online = bed.Client(ModelScope(bed))) await online.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"));
        int requests = bed.Hub.Log.Count;
        using var offline = bed.Client(ModelScope(bed) with { Offline = true });

        var snapshot = await offline.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct"), HubFileFilter.ModelFiles);
        Assert.Equal(["config.json", "configuration.json", "model.safetensors"], snapshot.Files);
        Assert.Equal(requests, bed.Hub.Log.Count);

        File.Delete(Path.Combine(snapshot.Folder, "model.safetensors"));
        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadAsync(new HubRepoId("Qwen/Qwen2.5-0.5B-Instruct")));
        Assert.Equal(HubErrorKind.NotInCache, e.Kind);
        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Datasets_are_listed_page_by_page_and_fetched_from_the_dataset_url()
    {
        await using var bed = await HubTestBed.StartAsync();
        var files = Enumerable.Range(0, 130).Select(i => FakeContent.Text($"data/part-{i:000}.json", $"[{i}]")).ToArray();
        bed.Hub.AddModelScopeRepo("llamafactory/big-data", HubRepoType.Dataset).Commit("master", files);
        using var client = bed.Client(ModelScope(bed) with { MaxParallelDownloads = 16 });

        var snapshot = await client.DownloadDatasetAsync("llamafactory/big-data-hf", "llamafactory/big-data");

        Assert.Equal(Path.Combine(bed.ModelScopeCacheDir, "datasets", "llamafactory", "big-data"), snapshot.Folder);
        Assert.Equal(130, snapshot.Files.Count);
        var requests = bed.Hub.Requests("modelscope").Select(r => r.Path).ToList();
        Assert.Contains(requests, p => p.Contains("/repo/tree?", StringComparison.Ordinal) && p.Contains("PageNumber=2", StringComparison.Ordinal));
        Assert.Contains("/api/v1/datasets/llamafactory/big-data/repo?Source=SDK&Revision=master&FilePath=data%2Fpart-007.json", requests);
        Assert.Empty(bed.Hub.Requests("hub")); // ModelScope was chosen, as LLaMA-Factory does under USE_MODELSCOPE_HUB.
    }
}
