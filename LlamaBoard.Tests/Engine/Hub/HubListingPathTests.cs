using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>File paths in a hub listing cannot escape the download folder: the listing is refused, nothing lands outside.</summary>
public class HubListingPathTests
{
    static FakeFile[] Files(string hostile) =>
    [
        FakeContent.Text("config.json", """{"model_type": "qwen2"}"""),
        FakeContent.Lfs("model.safetensors", 10_000, seed: 3),
        FakeContent.Text(hostile, "planted"),
    ];

    [Theory]
    [InlineData("../x")]
    [InlineData("sub/../../x")]
    [InlineData("../../../x")]
    public async Task A_huggingface_listing_with_a_path_leaving_the_snapshot_is_refused(string hostile)
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.AddRepo("org/hostile").Commit("main", Files(hostile));
        using var client = bed.Client();

        var error = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/hostile"), HubFileFilter.All));

        Assert.Equal(HubErrorKind.ServerError, error.Kind);
        Assert.Contains($"'{hostile}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("org/hostile", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(bed.Root, "x", SearchOption.AllDirectories));
        // The hostile listing was not kept in the cache either.
        Assert.False(Directory.Exists(Path.Combine(bed.RepoFolder("org/hostile"), "trees")) &&
                     Directory.EnumerateFiles(Path.Combine(bed.RepoFolder("org/hostile"), "trees")).Any());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    public async Task A_modelscope_listing_with_a_path_leaving_the_model_folder_is_refused(string hostile)
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.AddModelScopeRepo("org/hostile").Commit("master", Files(hostile));
        using var client = bed.Client(bed.Options() with { Source = HubSource.ModelScope });

        var error = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/hostile"), HubFileFilter.All));

        Assert.Equal(HubErrorKind.ServerError, error.Kind);
        Assert.Contains($"'{hostile}'", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(bed.Root, "x", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_modelscope_download_does_not_write_through_a_link_leading_out_of_the_model_folder()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.AddModelScopeRepo("org/linked").Commit("master",
        [
            FakeContent.Text("config.json", """{"model_type": "qwen2"}"""),
            FakeContent.Text("sub/notes.txt", "nested"),
        ]);
        string folder = Path.Combine(bed.ModelScopeCacheDir, "models", "org", "linked");
        string outside = Path.Combine(bed.Root, "elsewhere");
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(folder, "sub"), outside);
        using var client = bed.Client(bed.Options() with { Source = HubSource.ModelScope });

        var error = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(new HubRepoId("org/linked"), HubFileFilter.All));

        Assert.Contains("'sub/notes.txt'", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Theory]
    [InlineData("config.json", true)]
    [InlineData("sub/dir/file.bin", true)]
    [InlineData("..", false)]
    [InlineData("a//b", false)]
    [InlineData("./a", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("..\\x", false)]
    [InlineData("C:x", false)]
    [InlineData("", false)]
    public void Listing_paths_are_plain_relative_paths(string path, bool contained)
    {
        Assert.Equal(contained, HubListingPaths.IsContained(path));
    }
}
