using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>Environment variables read as huggingface_hub, ModelScope and LLaMA-Factory read them; ids and globs.</summary>
public class HubOptionsTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Defaults_follow_huggingface_hub()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var options = HubOptions.FromEnvironment(Env());

        Assert.Equal("https://huggingface.co", options.Endpoint);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"), options.CacheDir);
        Assert.Equal(Path.Combine(home, ".cache", "modelscope", "hub"), options.ModelScopeCacheDir);
        Assert.Equal(HubSource.HuggingFace, options.Source);
        Assert.False(options.Offline);
        Assert.Equal("main", options.RevisionFor(HubSource.HuggingFace));
        Assert.Equal("master", options.RevisionFor(HubSource.ModelScope));
    }

    [Fact]
    public void Cache_location_precedence_is_HF_HUB_CACHE_then_legacy_then_HF_HOME_then_XDG()
    {
        Assert.Equal("/a", HubOptions.FromEnvironment(Env(("HF_HUB_CACHE", "/a"), ("HUGGINGFACE_HUB_CACHE", "/b"), ("HF_HOME", "/c"))).CacheDir);
        Assert.Equal("/b", HubOptions.FromEnvironment(Env(("HUGGINGFACE_HUB_CACHE", "/b"), ("HF_HOME", "/c"))).CacheDir);
        Assert.Equal(Path.Combine("/c", "hub"), HubOptions.FromEnvironment(Env(("HF_HOME", "/c"), ("XDG_CACHE_HOME", "/x"))).CacheDir);
        Assert.Equal(Path.Combine("/x", "huggingface", "hub"), HubOptions.FromEnvironment(Env(("XDG_CACHE_HOME", "/x"))).CacheDir);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, "models"), HubOptions.FromEnvironment(Env(("HF_HUB_CACHE", "~/models"))).CacheDir);
        Assert.Equal("/ms", HubOptions.FromEnvironment(Env(("MODELSCOPE_CACHE", "/ms"))).ModelScopeCacheDir);
    }

    [Fact]
    public void Token_comes_from_HF_TOKEN_then_the_legacy_name_then_the_login_file()
    {
        Assert.Equal("a", HubOptions.FromEnvironment(Env(("HF_TOKEN", "a"), ("HUGGING_FACE_HUB_TOKEN", "b"))).Token);
        Assert.Equal("b", HubOptions.FromEnvironment(Env(("HUGGING_FACE_HUB_TOKEN", " b "))).Token);

        string home = Path.Combine(Path.GetTempPath(), "hfhome-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_from_login\n");
            Assert.Equal("hf_from_login", HubOptions.FromEnvironment(Env(("HF_HOME", home))).Token);
            Assert.Null(HubOptions.FromEnvironment(Env(("HF_HOME", Path.Combine(home, "none")))).Token);
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("no", false)]
    public void HF_HUB_OFFLINE_accepts_huggingface_hub_true_values(string value, bool offline)
    {
        Assert.Equal(offline, HubOptions.FromEnvironment(Env(("HF_HUB_OFFLINE", value))).Offline);
        Assert.Equal(offline, HubOptions.FromEnvironment(Env(("TRANSFORMERS_OFFLINE", value))).Offline);
    }

    [Fact]
    public void ModelScope_is_chosen_and_addressed_as_llamafactory_and_modelscope_do()
    {
        var options = HubOptions.FromEnvironment(Env(("USE_MODELSCOPE_HUB", "1"), ("MODELSCOPE_DOMAIN", "www.modelscope.ai"), ("MODELSCOPE_API_TOKEN", "ms-token")));
        Assert.Equal(HubSource.ModelScope, options.Source);
        Assert.Equal("https://www.modelscope.ai", options.ModelScopeEndpoint);
        Assert.Equal("ms-token", options.ModelScopeToken);
        Assert.Equal(HubSource.HuggingFace, HubOptions.FromEnvironment(Env(("USE_MODELSCOPE_HUB", "on"))).Source); // LLaMA-Factory accepts only true/y/1.
        Assert.Equal("https://hf-mirror.com", HubOptions.FromEnvironment(Env(("HF_ENDPOINT", "https://hf-mirror.com/"))).Endpoint);
    }

    [Fact]
    public void Timeouts_are_read_in_seconds_and_bad_values_are_named()
    {
        var options = HubOptions.FromEnvironment(Env(("HF_HUB_ETAG_TIMEOUT", "30"), ("HF_HUB_DOWNLOAD_TIMEOUT", "60")));
        Assert.Equal(TimeSpan.FromSeconds(30), options.MetadataTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), options.ReadTimeout);
        var e = Assert.Throws<HubException>(() => HubOptions.FromEnvironment(Env(("HF_HUB_DOWNLOAD_TIMEOUT", "soon"))));
        Assert.Contains("HF_HUB_DOWNLOAD_TIMEOUT", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Qwen/Qwen2.5-0.5B-Instruct", true)]
    [InlineData("gpt2", true)]
    [InlineData("01-ai/Yi-1.5-6B-Chat", true)]
    [InlineData("a/b/c", false)]
    [InlineData("org/-name", false)]
    [InlineData("org/na--me", false)]
    [InlineData("org/na..me", false)]
    [InlineData("org/name.git", false)]
    [InlineData("/abs/path", false)]
    [InlineData("", false)]
    public void Repository_ids_are_checked_like_the_hub_does(string id, bool valid) => Assert.Equal(valid, HubRepoId.IsValid(id));

    [Fact]
    public void Cache_folder_names_follow_repo_folder_name()
    {
        Assert.Equal("models--Qwen--Qwen3-0.6B", new HubRepoId("Qwen/Qwen3-0.6B").CacheFolderName);
        Assert.Equal("datasets--llamafactory--alpaca_en", new HubRepoId("llamafactory/alpaca_en", HubRepoType.Dataset).CacheFolderName);
        Assert.Equal("models--gpt2", new HubRepoId("gpt2").CacheFolderName);
        var e = Assert.Throws<ArgumentException>(() => new HubRepoId("bad//id"));
        Assert.Contains("bad//id", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*.json", "config.json", true)]
    [InlineData("*.json", "sub/config.json", true)] // fnmatch's '*' crosses '/'.
    [InlineData("sub/", "sub/a/b.txt", true)]
    [InlineData("sub/", "subway.txt", false)]
    [InlineData("model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors", true)]
    [InlineData("[!o]*", "original/x.pth", false)]
    [InlineData("[!o]*", "config.json", true)]
    [InlineData("[a-c]*.txt", "b.txt", true)]
    [InlineData("*.JSON", "config.json", false)]
    [InlineData("a.b", "aXb", false)]
    public void Globs_match_like_python_fnmatch(string pattern, string path, bool matches) =>
        Assert.Equal(matches, new HubFileFilter { Include = [pattern] }.MatchesPatterns(path));

    [Fact]
    public void Byte_counts_are_formatted_in_decimal_units()
    {
        Assert.Equal("512 B", DownloadProgress.FormatBytes(512));
        Assert.Equal("1.5 MB", DownloadProgress.FormatBytes(1_500_000));
        Assert.Equal("2.35 GB", DownloadProgress.FormatBytes(2_345_678_901));
    }
}
