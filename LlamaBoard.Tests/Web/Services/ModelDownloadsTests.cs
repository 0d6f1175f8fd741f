using LlamaBoard.Engine.Hub;
using LlamaBoard.Tests.Engine.Hub;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.Configuration;

namespace LlamaBoard.Tests.Web.Services;

/// <summary>The board's download service against the fake hub: progress, cancel and resume, errors, offline use of the cache.</summary>
public class ModelDownloadsTests
{
    const string Id = "Qwen/Qwen3-0.6B";

    static async Task<ModelDownload> WaitForAsync(ModelDownloads downloads, Func<ModelDownload, bool> condition)
    {
        var seen = new TaskCompletionSource<ModelDownload>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = downloads.Subscribe(d => { if (condition(d)) seen.TrySetResult(d); });
        if (downloads.Find(Id) is { } now && condition(now)) return now;
        return await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_download_reports_bytes_while_it_runs_and_ends_with_the_snapshot_folder()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, 100_000);
        var downloads = new ModelDownloads(bed.Options());
        var reports = new List<DownloadProgress>();
        using var listen = downloads.Subscribe(d => { if (d.Progress is { } p) lock (reports) reports.Add(p); });

        var download = downloads.Start(Id);
        Assert.Same(download, downloads.Start(Id)); // a second Start joins the running download
        var midway = await WaitForAsync(downloads, d => d.Progress is { Phase: DownloadPhase.Downloading, BytesDone: >= 100_000 });
        Assert.Equal(ModelDownloadStatus.Running, midway.Status);
        Assert.Equal(weights.Content.Length + "{\"model_type\": \"qwen3\", \"hidden_size\": 32}".Length, midway.Progress!.BytesTotal);
        hold.SetResult();

        string? folder = await download.Completion.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ModelDownloadStatus.Completed, download.Status);
        Assert.NotNull(folder);
        Assert.Contains("models--Qwen--Qwen3-0.6B" + Path.DirectorySeparatorChar + "snapshots", folder, StringComparison.Ordinal);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.True(ModelFolderCheck.Check(folder, new LlamaBoard.Web.Security.BoardRoots([downloads.Options.CacheDir])).IsValid);
        lock (reports) Assert.Equal(DownloadPhase.Completed, reports[^1].Phase);
        Assert.Equal(folder, await downloads.CachedFolderAsync(Id));
    }

    [Fact]
    public async Task A_cancelled_download_keeps_its_bytes_and_the_next_one_resumes_with_a_range_request()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        var hold = HubBoardTestKit.Hold(bed.Hub, weights, 120_000);
        var downloads = new ModelDownloads(bed.Options());

        var first = downloads.Start(Id);
        await WaitForAsync(downloads, d => d.Progress is { BytesDone: >= 120_000 });
        downloads.Cancel(Id);
        Assert.Null(await first.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(ModelDownloadStatus.Cancelled, first.Status);
        Assert.Null(await downloads.CachedFolderAsync(Id));
        string incomplete = Path.Combine(bed.RepoFolder(Id), "blobs", weights.Etag + ".incomplete");
        long had = new FileInfo(incomplete).Length;
        Assert.InRange(had, 1, 120_000);

        hold.SetResult();
        var second = downloads.Start(Id);
        Assert.NotSame(first, second);
        string? folder = await second.Completion.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ModelDownloadStatus.Completed, second.Status);
        Assert.Equal($"bytes={had}-", bed.Hub.Requests("cdn").Last().Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(folder!, "model.safetensors")));
    }

    [Fact]
    public async Task Failures_end_the_download_with_the_engines_advice()
    {
        await using var bed = await HubTestBed.StartAsync();
        HubBoardTestKit.PublishFakeModel(bed.Hub, "meta-llama/Llama-3.2-1B", gated: true);
        var downloads = new ModelDownloads(bed.Options());

        var gated = downloads.Start("meta-llama/Llama-3.2-1B");
        var missing = downloads.Start("org/no-such-model");
        Assert.Null(await gated.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Null(await missing.Completion.WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.Equal((ModelDownloadStatus.Failed, HubErrorKind.Gated), (gated.Status, gated.ErrorKind));
        Assert.Contains("HF_TOKEN", gated.Error, StringComparison.Ordinal);
        Assert.Equal((ModelDownloadStatus.Failed, HubErrorKind.RepositoryNotFound), (missing.Status, missing.ErrorKind));
        Assert.Contains("org/no-such-model", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offline_mode_uses_the_cache_and_says_so_when_the_cache_lacks_the_model()
    {
        await using var bed = await HubTestBed.StartAsync();
        HubBoardTestKit.PublishFakeModel(bed.Hub, Id);
        string? online = await new ModelDownloads(bed.Options()).Start(Id).Completion.WaitAsync(TimeSpan.FromSeconds(20));
        int requests = bed.Hub.Log.Count;
        var offline = new ModelDownloads(bed.Options() with { Offline = true });

        Assert.Equal(online, await offline.Start(Id).Completion.WaitAsync(TimeSpan.FromSeconds(20)));
        var absent = offline.Start("org/never-downloaded");
        Assert.Null(await absent.Completion.WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.Equal(HubErrorKind.NotInCache, absent.ErrorKind);
        Assert.Contains("Offline mode is on", absent.Error, StringComparison.Ordinal);
        Assert.Equal(requests, bed.Hub.Log.Count); // offline means no request at all
    }

    [Fact]
    public void Hub_settings_come_from_configuration_keys_named_as_the_environment_variables()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = "http://127.0.0.1:5555/",
            ["HF_HUB_CACHE"] = "/tmp/board-hub-cache",
            ["HF_HUB_OFFLINE"] = "1",
            ["HF_TOKEN"] = "hf_from_settings",
        }).Build();

        var options = ModelDownloads.OptionsFrom(configuration);

        Assert.Equal("http://127.0.0.1:5555", options.Endpoint);
        Assert.Equal("/tmp/board-hub-cache", options.CacheDir);
        Assert.True(options.Offline);
        Assert.Equal("hf_from_settings", options.Token);
    }

    [Theory]
    [InlineData("Qwen/Qwen3-0.6B", true)]
    [InlineData("/models/Qwen/Qwen3-0.6B", false)]
    [InlineData("./models/demo", false)]
    [InlineData("models/demo", false)]
    [InlineData("models/demo/x", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Hub_ids_are_told_from_paths(string? text, bool hubId) => Assert.Equal(hubId, ModelDownloads.IsHubId(text));
}
