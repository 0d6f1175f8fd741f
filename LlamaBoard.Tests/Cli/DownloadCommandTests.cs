using System.CommandLine;
using LlamaBoard.Cli;
using LlamaBoard.Cli.Commands;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Tests.Engine.Hub;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard download</c> against the fake hub, with a controlled environment.</summary>
public class DownloadCommandTests
{
    static Task<(int Code, string Output, string Error)> RunAsync(Dictionary<string, string>? env, params string[] args) => RunAsync(env, false, args);

    static async Task<(int Code, string Output, string Error)> RunAsync(Dictionary<string, string>? env, bool terminal, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = new RootCommand { DownloadCommand.Create(output, error, name => env?.GetValueOrDefault(name), terminal ? true : null) };
        int code = await root.Parse(["download", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    static FakeFile[] TinyModel(FakeHub hub, string id)
    {
        FakeFile[] files =
        [
            FakeContent.Text("config.json", """{"model_type": "qwen2"}"""),
            FakeContent.Text("tokenizer.json", "{}"),
            FakeContent.Lfs("model.safetensors", 250_000, 81),
            FakeContent.Text("README.md", "# card"),
        ];
        hub.AddRepo(id).Commit("main", files);
        return files;
    }

    [Fact]
    public async Task Downloads_model_files_shows_progress_and_ends_with_the_folder()
    {
        await using var bed = await HubTestBed.StartAsync();
        TinyModel(bed.Hub, "org/tiny");

        var (code, output, error) = await RunAsync(null, "org/tiny", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string folder = lines[^1];
        Assert.StartsWith(Path.Combine(bed.CacheDir, "models--org--tiny", "snapshots"), folder, StringComparison.Ordinal);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).Order().ToArray());
        Assert.Contains(lines, l => l.StartsWith("org/tiny: ", StringComparison.Ordinal) && l.Contains("/s  ETA", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("3/3 files  done", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Downloaded 250.03 kB; 3 files", StringComparison.Ordinal));

        var (again, second, _) = await RunAsync(null, "org/tiny", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir, "--offline");
        Assert.Equal(ExitCodes.Success, again);
        Assert.Contains("were already in the cache", second, StringComparison.Ordinal);
        Assert.EndsWith(folder + Environment.NewLine, second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_terminal_a_live_bar_shows_bytes_rate_and_eta()
    {
        await using var bed = await HubTestBed.StartAsync();
        TinyModel(bed.Hub, "org/tiny");
        bed.Hub.BeforeBody = () => Task.Delay(400); // Long enough for the bar to be drawn mid-transfer.

        var (code, output, _) = await RunAsync(null, terminal: true, "org/tiny", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("\u001b[", output, StringComparison.Ordinal); // Drawn with ANSI sequences.
        Assert.Contains("org/tiny", output, StringComparison.Ordinal);
        Assert.Contains("100%", output, StringComparison.Ordinal);
        Assert.Contains("B/s  ETA ", output, StringComparison.Ordinal);
        Assert.Contains("250.03 kB / 250.03 kB  3/3 files  done", output, StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine(bed.CacheDir, "models--org--tiny", "snapshots", bed.Hub.Repos["Model:org/tiny"].Branches["main"]) + Environment.NewLine,
            output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_catalogue_name_is_mapped_to_its_hub_id()
    {
        await using var bed = await HubTestBed.StartAsync();
        TinyModel(bed.Hub, "Qwen/Qwen2.5-0.5B-Instruct");
        var env = new Dictionary<string, string> { ["HF_ENDPOINT"] = bed.Hub.Endpoint, ["HF_HUB_CACHE"] = bed.CacheDir };

        var (code, output, _) = await RunAsync(env, "Qwen2.5-0.5B-Instruct", "--include", "*.json");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Qwen2.5-0.5B-Instruct (catalogue) is Qwen/Qwen2.5-0.5B-Instruct on the Hugging Face hub; chat template 'qwen'.", output, StringComparison.Ordinal);
        Assert.Contains("models--Qwen--Qwen2.5-0.5B-Instruct", output, StringComparison.Ordinal);
        Assert.Empty(bed.Hub.Requests("cdn"));
    }

    [Fact]
    public async Task All_files_and_datasets_and_modelscope_are_reachable_by_options()
    {
        await using var bed = await HubTestBed.StartAsync();
        TinyModel(bed.Hub, "org/tiny");
        bed.Hub.AddRepo("org/data", HubRepoType.Dataset).Commit("main", FakeContent.Text("train.json", "[]"), FakeContent.Text("dev/dev.json", "[]"));
        bed.Hub.AddModelScopeRepo("org/ms-model").Commit("master", FakeContent.Text("config.json", "{}"), FakeContent.Lfs("model.safetensors", 1000, 82));

        var (all, allOut, _) = await RunAsync(null, "org/tiny", "--all", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir);
        Assert.Equal(ExitCodes.Success, all);
        Assert.True(File.Exists(Path.Combine(allOut.Trim().Split('\n')[^1], "README.md")));

        var (data, dataOut, _) = await RunAsync(null, "org/data", "--repo-type", "dataset", "--include", "dev/", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir);
        Assert.Equal(ExitCodes.Success, data);
        Assert.Contains("datasets--org--data", dataOut, StringComparison.Ordinal);
        Assert.Contains(bed.Hub.Requests("hub"), r => r.Path.StartsWith("/datasets/org/data/resolve/", StringComparison.Ordinal) && r.Path.EndsWith("/dev/dev.json", StringComparison.Ordinal));

        var (ms, msOut, _) = await RunAsync(null, "org/ms-model", "--source", "modelscope", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.ModelScopeCacheDir);
        Assert.Equal(ExitCodes.Success, ms);
        Assert.EndsWith(Path.Combine(bed.ModelScopeCacheDir, "models", "org", "ms-model") + Environment.NewLine, msOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_print_the_reason_and_exit_non_zero()
    {
        await using var bed = await HubTestBed.StartAsync();

        var (missing, _, missingError) = await RunAsync(null, "org/nothing-here", "--endpoint", bed.Hub.Endpoint, "--cache-dir", bed.CacheDir);
        Assert.Equal(ExitCodes.Failure, missing);
        Assert.StartsWith("error: Repository org/nothing-here was not found", missingError, StringComparison.Ordinal);

        var (offline, _, offlineError) = await RunAsync(new() { ["HF_HUB_OFFLINE"] = "1" }, "org/nothing-here", "--cache-dir", bed.CacheDir);
        Assert.Equal(ExitCodes.Failure, offline);
        Assert.Contains("Offline mode is on", offlineError, StringComparison.Ordinal);

        var (bad, _, badError) = await RunAsync(null, "not//an/id", "--cache-dir", bed.CacheDir);
        Assert.Equal(ExitCodes.BadConfiguration, bad);
        Assert.Contains("not a hub repository id", badError, StringComparison.Ordinal);

        var (env, _, envError) = await RunAsync(new() { ["HF_HUB_DOWNLOAD_TIMEOUT"] = "later" }, "org/x");
        Assert.Equal(ExitCodes.BadConfiguration, env);
        Assert.Contains("HF_HUB_DOWNLOAD_TIMEOUT", envError, StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_is_registered_with_its_options()
    {
        var output = new StringWriter();
        int code = CliApp.Run(["download", "--help"], output, new StringWriter());

        Assert.Equal(ExitCodes.Success, code);
        foreach (string option in new[] { "repo_id", "--revision", "--repo-type", "--include", "--cache-dir", "--offline", "--source", "--endpoint", "--all" })
            Assert.Contains(option, output.ToString(), StringComparison.Ordinal);
    }
}
