using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>Interrupted, resumed and cancelled transfers: nothing broken ever appears in snapshots/.</summary>
public class HfResumeTests
{
    const int Size = 400_000;

    static FakeFile Weights(FakeHub hub, string id = "org/big")
    {
        var weights = FakeContent.Lfs("model.safetensors", Size, seed: 11);
        hub.AddRepo(id).Commit("main", FakeContent.Text("config.json", "{}"), weights);
        return weights;
    }

    /// <summary>Every file in the snapshot opens and holds the bytes the hub has: no half file, no dangling link.</summary>
    static void AssertSnapshotsHealthy(HubTestBed bed, string id, params FakeFile[] known)
    {
        string snapshots = Path.Combine(bed.RepoFolder(id), "snapshots");
        if (!Directory.Exists(snapshots)) return;
        foreach (string entry in Directory.EnumerateFileSystemEntries(snapshots, "*", SearchOption.AllDirectories))
        {
            if (Directory.Exists(entry)) continue;
            Assert.True(HfCacheLayout.Resolve(entry) is not null, $"{entry} is a dangling link");
            var file = known.Single(f => entry.EndsWith(f.Path.Replace('/', Path.DirectorySeparatorChar), StringComparison.Ordinal));
            Assert.Equal(file.Content, File.ReadAllBytes(entry));
        }
    }

    [Fact]
    public async Task A_cut_connection_is_resumed_with_a_range_request()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        bed.Hub.Cuts[weights.Etag] = 2;
        bed.Hub.CutAfterBytes[weights.Etag] = 100_000;
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/big"));

        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        var ranges = bed.Hub.Requests("cdn").Select(r => r.Range).ToList();
        Assert.Equal(3, ranges.Count);
        Assert.Null(ranges[0]);
        // Each resumption starts where the file on disk ended (the server cut after 100 kB per connection).
        var starts = ranges.Skip(1).Select(r => long.Parse(r!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(starts[0] > 0 && starts[0] <= 100_000 && starts[1] > starts[0] && starts[1] <= starts[0] + 100_000, string.Join(",", ranges));
        Assert.Equal(Size + 2, snapshot.BytesDownloaded); // config.json is 2 bytes; nothing was fetched twice.
    }

    [Fact]
    public async Task A_failed_download_keeps_only_the_incomplete_blob_and_the_next_run_resumes_it()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        bed.Hub.Cuts[weights.Etag] = 1;
        bed.Hub.CutAfterBytes[weights.Etag] = 150_000;
        using (var noRetry = bed.Client(bed.Options() with { MaxRetries = 0 }))
        {
            var e = await Assert.ThrowsAsync<HubException>(() => noRetry.DownloadAsync(new HubRepoId("org/big")));
            Assert.Equal(HubErrorKind.NoNetwork, e.Kind);
            Assert.Contains("resumes", e.Message, StringComparison.Ordinal);
        }

        string incomplete = Path.Combine(bed.RepoFolder("org/big"), "blobs", weights.Etag + ".incomplete");
        long had = new FileInfo(incomplete).Length;
        Assert.InRange(had, 1, 150_000);
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder("org/big"), "blobs", weights.Etag)));
        AssertSnapshotsHealthy(bed, "org/big", weights, FakeContent.Text("config.json", "{}"));
        Assert.DoesNotContain(Directory.EnumerateFiles(bed.RepoFolder("org/big"), "model.safetensors", SearchOption.AllDirectories), _ => true);

        using var client = bed.Client();
        var log = new ProgressLog();
        var snapshot = await client.DownloadAsync(new HubRepoId("org/big"), progress: log);

        Assert.Equal($"bytes={had}-", bed.Hub.Requests("cdn").Last().Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        Assert.Equal(Size - had, snapshot.BytesDownloaded);
        Assert.False(File.Exists(incomplete));
        // The resumed prefix counts as done from the start; the total is the whole file.
        Assert.Equal(Size + 2, log.Reports[^1].BytesTotal);
    }

    [Fact]
    public async Task A_server_that_ignores_range_restarts_the_file_from_zero()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        bed.Hub.Cuts[weights.Etag] = 1;
        bed.Hub.CutAfterBytes[weights.Etag] = 50_000;
        bed.Hub.IgnoreRange = true;
        using var client = bed.Client();
        var log = new ProgressLog();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/big"), progress: log);

        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        Assert.StartsWith("bytes=", bed.Hub.Requests("cdn").Last().Range, StringComparison.Ordinal);
        var last = log.Reports[^1];
        Assert.Equal(last.BytesTotal, last.BytesDone);
        Assert.All(log.Reports, r => Assert.True(r.BytesTotal is null || r.BytesDone <= r.BytesTotal));
    }

    [Fact]
    public async Task A_stale_partial_longer_than_the_file_is_discarded()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        string blobs = Path.Combine(bed.RepoFolder("org/big"), "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, weights.Etag + ".incomplete"), new byte[Size + 10]);
        using var client = bed.Client();

        var snapshot = await client.DownloadAsync(new HubRepoId("org/big"));

        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        Assert.Null(bed.Hub.Requests("cdn").Single().Range);
    }

    [Fact]
    public async Task Cancelling_leaves_a_resumable_blob_and_no_broken_snapshot_file()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        bed.Hub.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bed.Hub.HoldEtag = weights.Etag;
        bed.Hub.HoldAfterBytes = 120_000;
        using var cts = new CancellationTokenSource();
        var log = new ProgressLog
        {
            // Cancel once the held transfer has delivered its first part.
            OnReport = p =>
            {
                if (p.BytesDone >= 120_000) cts.Cancel();
            },
        };
        using var client = bed.Client();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadAsync(new HubRepoId("org/big"), progress: log, ct: cts.Token));

        string incomplete = Path.Combine(bed.RepoFolder("org/big"), "blobs", weights.Etag + ".incomplete");
        Assert.True(new FileInfo(incomplete).Length >= 100_000);
        AssertSnapshotsHealthy(bed, "org/big", weights, FakeContent.Text("config.json", "{}"));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder("org/big"), "snapshots", bed.Hub.Repos["Model:org/big"].Branches["main"], "model.safetensors")));

        bed.Hub.Hold = null;
        bed.Hub.HoldEtag = null;
        long had = new FileInfo(incomplete).Length;
        var snapshot = await client.DownloadAsync(new HubRepoId("org/big"));
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Folder, "model.safetensors")));
        Assert.Equal($"bytes={had}-", bed.Hub.Requests("cdn").Last().Range);
    }

    [Fact]
    public async Task Files_download_in_parallel_up_to_the_limit()
    {
        foreach (int limit in new[] { 1, 3 })
        {
            await using var bed = await HubTestBed.StartAsync();
            var files = Enumerable.Range(0, 6).Select(i => FakeContent.Lfs($"model-{i}.safetensors", 20_000, 100 + i)).ToArray();
            bed.Hub.AddRepo("org/shards").Commit("main", files);
            // The first transfers wait until `limit` of them are in flight (or 3 s pass), so the server sees the
            // full overlap the client allows; a client ignoring the limit would show more at once.
            int arrived = 0;
            var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            bed.Hub.BeforeBody = async () =>
            {
                if (Interlocked.Increment(ref arrived) >= limit) allIn.TrySetResult();
                await Task.WhenAny(allIn.Task, Task.Delay(3000));
                await Task.Delay(50);
            };
            using var client = bed.Client(bed.Options() with { MaxParallelDownloads = limit });

            var snapshot = await client.DownloadAsync(new HubRepoId("org/shards"));

            Assert.Equal(6, snapshot.Files.Count);
            Assert.Equal(limit, bed.Hub.MaxInFlight);
        }
    }

    [Fact]
    public async Task Progress_reports_bytes_files_rate_and_completion()
    {
        await using var bed = await HubTestBed.StartAsync();
        var weights = Weights(bed.Hub);
        bed.Hub.BeforeBody = () => Task.Delay(300);
        using var client = bed.Client();
        var log = new ProgressLog();

        await client.DownloadAsync(new HubRepoId("org/big"), progress: log);

        var reports = log.Reports;
        Assert.Equal(DownloadPhase.Resolving, reports[0].Phase);
        Assert.Null(reports[0].BytesTotal);
        Assert.Contains(reports, r => r.Phase == DownloadPhase.Downloading && r.CurrentFile is not null);
        Assert.Equal(reports.Select(r => r.BytesDone).Order().ToList(), reports.Select(r => r.BytesDone).ToList());
        var last = reports[^1];
        Assert.Equal(DownloadPhase.Completed, last.Phase);
        Assert.Equal(Size + 2, last.BytesDone);
        Assert.Equal(2, last.FilesDone);
        Assert.Equal(2, last.FilesTotal);
        Assert.Equal(1.0, last.Fraction);
        Assert.True(last.BytesPerSecond > 0);
        Assert.Equal(TimeSpan.Zero, last.Eta);
        Assert.True(reports.Count < 50, "reports are throttled");
        _ = weights;
    }
}
