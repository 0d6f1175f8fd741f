using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary><c>model_name_or_path</c>: a local folder as it is, a hub id downloaded (model files only) or taken from the cache.</summary>
public class HubModelResolverTests
{
    [Fact]
    public async Task A_local_folder_is_returned_as_its_full_path_without_network()
    {
        string folder = Path.Combine(Path.GetTempPath(), "local-model-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var options = new HubOptions { Endpoint = "http://127.0.0.1:9", Offline = false };
            string relative = Path.GetRelativePath(Environment.CurrentDirectory, folder);

            Assert.Equal(folder, await HubModelResolver.ResolveAsync(relative, options));
            Assert.Null(await HubModelResolver.ResolveSnapshotAsync(folder, options));
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [Theory]
    [InlineData("./models/missing")]
    [InlineData("/no/such/folder")]
    [InlineData("C:\\models\\x")]
    [InlineData("not a valid id")]
    [InlineData("")]
    public async Task Neither_a_folder_nor_a_hub_id_is_refused_without_network(string text)
    {
        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(text, new HubOptions { Endpoint = "http://127.0.0.1:9" }));
        Assert.Equal(HubErrorKind.InvalidRequest, e.Kind);
    }

    [Fact]
    public async Task A_file_instead_of_a_folder_is_named()
    {
        string file = Path.GetTempFileName();
        try
        {
            var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(file, new HubOptions()));
            Assert.Contains("is a file", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_hub_id_is_downloaded_with_progress_and_then_resolved_offline()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Hub.AddRepo("Qwen/Qwen2.5-0.5B-Instruct").Commit("main",
            FakeContent.Text("config.json", "{}"),
            FakeContent.Text("tokenizer.json", "{}"),
            FakeContent.Lfs("model.safetensors", 40_000, 71),
            FakeContent.Text("README.md", "# card"),
            FakeContent.Lfs("onnx/model.onnx", 40_000, 72));
        var log = new ProgressLog();

        string folder = await HubModelResolver.ResolveAsync("Qwen/Qwen2.5-0.5B-Instruct", bed.Options(), log);

        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).Order().ToArray());
        Assert.Equal(DownloadPhase.Completed, log.Reports[^1].Phase);
        Assert.Equal(40_004, log.Reports[^1].BytesTotal);
        Assert.Equal(folder, await HubModelResolver.ResolveAsync("Qwen/Qwen2.5-0.5B-Instruct", bed.Options() with { Offline = true }));
    }
}
