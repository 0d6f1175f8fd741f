using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>A fake hub plus a fresh cache folder for one test, removed afterwards.</summary>
sealed class HubTestBed : IAsyncDisposable
{
    HubTestBed(FakeHub hub, string root)
    {
        Hub = hub;
        Root = root;
    }

    public FakeHub Hub { get; }
    public string Root { get; }
    public string CacheDir => Path.Combine(Root, "hf");
    public string ModelScopeCacheDir => Path.Combine(Root, "ms");

    public static async Task<HubTestBed> StartAsync()
    {
        string root = Path.Combine(Path.GetTempPath(), "llamaboard-hub-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        return new HubTestBed(await FakeHub.StartAsync(), root);
    }

    /// <summary>Options pointing at the fake hub, with short timeouts and no retry pause so failures show fast.</summary>
    public HubOptions Options(string? token = null) => new()
    {
        Endpoint = Hub.Endpoint,
        ModelScopeEndpoint = Hub.Endpoint,
        CacheDir = CacheDir,
        ModelScopeCacheDir = ModelScopeCacheDir,
        Token = token,
        RetryDelay = TimeSpan.Zero,
        MetadataTimeout = TimeSpan.FromSeconds(10),
        ReadTimeout = TimeSpan.FromSeconds(10),
    };

    public HubClient Client(HubOptions? options = null, Func<string, long?>? freeSpace = null) =>
        new(options ?? Options(), freeSpace ?? (_ => null));

    public string RepoFolder(string id, HubRepoType type = HubRepoType.Model) => Path.Combine(CacheDir, new HubRepoId(id, type).CacheFolderName);

    /// <summary>Every file under a snapshot folder with its bytes, following links (what a reader of the folder sees).</summary>
    public static Dictionary<string, byte[]> ReadTree(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes);

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
sealed class ProgressLog : IProgress<DownloadProgress>
{
    readonly List<DownloadProgress> reports = [];

    public IReadOnlyList<DownloadProgress> Reports
    {
        get
        {
            lock (reports) return reports.ToList();
        }
    }

    public Action<DownloadProgress>? OnReport { get; set; }

    public void Report(DownloadProgress value)
    {
        lock (reports) reports.Add(value);
        OnReport?.Invoke(value);
    }
}
