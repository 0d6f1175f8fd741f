namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Where and how to reach the model hubs and where their cache lives. <see cref="FromEnvironment()"/> reads the same
/// environment variables as huggingface_hub, ModelScope and LLaMA-Factory, so an existing setup (a mirror, a token, a
/// cache on another disk, offline mode) carries over unchanged.
/// </summary>
public sealed record HubOptions
{
    /// <summary>The Hugging Face hub's address when <c>HF_ENDPOINT</c> is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>ModelScope's address when <c>MODELSCOPE_DOMAIN</c> is not set.</summary>
    public const string DefaultModelScopeEndpoint = "https://www.modelscope.cn";

    /// <summary>The hub to download from (default Hugging Face; ModelScope when <c>USE_MODELSCOPE_HUB=1</c>).</summary>
    public HubSource Source { get; init; } = HubSource.HuggingFace;

    /// <summary>The Hugging Face hub or a mirror of it (<c>HF_ENDPOINT</c>), without a trailing slash.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The ModelScope endpoint (<c>MODELSCOPE_DOMAIN</c>), without a trailing slash.</summary>
    public string ModelScopeEndpoint { get; init; } = DefaultModelScopeEndpoint;

    /// <summary>
    /// The Hugging Face access token sent as <c>Authorization: Bearer</c>, needed for gated and private repos
    /// (<c>HF_TOKEN</c>, then <c>HUGGING_FACE_HUB_TOKEN</c>, then the token file <c>huggingface-cli login</c> writes).
    /// </summary>
    public string? Token { get; init; }

    /// <summary>The ModelScope SDK token (<c>MODELSCOPE_API_TOKEN</c>), sent as ModelScope's session cookie.</summary>
    public string? ModelScopeToken { get; init; }

    /// <summary>
    /// The huggingface_hub cache folder (<c>HF_HUB_CACHE</c>, else <c>HF_HOME</c>/hub, else ~/.cache/huggingface/hub).
    /// Repositories are stored in huggingface_hub's layout, so Python tools and LlamaBoard share downloads.
    /// </summary>
    public string CacheDir { get; init; } = DefaultHfCache(_ => null);

    /// <summary>The ModelScope cache folder (<c>MODELSCOPE_CACHE</c>, else ~/.cache/modelscope/hub).</summary>
    public string ModelScopeCacheDir { get; init; } = DefaultModelScopeCache(_ => null);

    /// <summary>Use only the cache: no network request is made (<c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// The branch, tag or commit to fetch; null means the default branch (<c>main</c> on Hugging Face, <c>master</c>
    /// on ModelScope, where <c>main</c> is also read as <c>master</c> as LLaMA-Factory does).
    /// </summary>
    public string? Revision { get; init; }

    /// <summary>How many files download at the same time (huggingface_hub's default is 8).</summary>
    public int MaxParallelDownloads { get; init; } = 8;

    /// <summary>How many times a broken transfer is resumed (HTTP Range) before the download fails.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Time allowed for a metadata request (<c>HF_HUB_ETAG_TIMEOUT</c>, default 10 s).</summary>
    public TimeSpan MetadataTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest silence while reading a file before the transfer counts as broken (<c>HF_HUB_DOWNLOAD_TIMEOUT</c>).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause before resuming a broken transfer (huggingface_hub waits one second).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The revision to ask <paramref name="source"/> for when <see cref="Revision"/> says nothing.</summary>
    public string RevisionFor(HubSource source) => source switch
    {
        HubSource.ModelScope => Revision is null or "main" ? "master" : Revision,
        _ => Revision ?? "main",
    };

    /// <summary>Options from this process's environment variables.</summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Options from environment variables read through <paramref name="env"/>: <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>,
    /// <c>HUGGING_FACE_HUB_TOKEN</c>, <c>HF_TOKEN_PATH</c>, <c>HF_HOME</c>, <c>HF_HUB_CACHE</c>,
    /// <c>HUGGINGFACE_HUB_CACHE</c>, <c>XDG_CACHE_HOME</c>, <c>HF_HUB_OFFLINE</c>, <c>TRANSFORMERS_OFFLINE</c>,
    /// <c>HF_HUB_ETAG_TIMEOUT</c>, <c>HF_HUB_DOWNLOAD_TIMEOUT</c>, <c>USE_MODELSCOPE_HUB</c>, <c>MODELSCOPE_CACHE</c>,
    /// <c>MODELSCOPE_DOMAIN</c> and <c>MODELSCOPE_API_TOKEN</c>.
    /// </summary>
    public static HubOptions FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        string? Var(string name) => string.IsNullOrWhiteSpace(env(name)) ? null : env(name)!.Trim();

        var options = new HubOptions
        {
            Source = IsLlamaFactoryTrue(Var("USE_MODELSCOPE_HUB")) ? HubSource.ModelScope : HubSource.HuggingFace,
            Endpoint = (Var("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            ModelScopeEndpoint = Var("MODELSCOPE_DOMAIN") is { } domain
                ? (domain.Contains("://", StringComparison.Ordinal) ? domain : "https://" + domain).TrimEnd('/')
                : DefaultModelScopeEndpoint,
            Token = Var("HF_TOKEN") ?? Var("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(TokenPath(env)),
            ModelScopeToken = Var("MODELSCOPE_API_TOKEN"),
            CacheDir = DefaultHfCache(env),
            ModelScopeCacheDir = DefaultModelScopeCache(env),
            Offline = IsHubTrue(Var("HF_HUB_OFFLINE") ?? Var("TRANSFORMERS_OFFLINE")),
        };
        if (Seconds(Var("HF_HUB_ETAG_TIMEOUT"), "HF_HUB_ETAG_TIMEOUT") is { } etag) options = options with { MetadataTimeout = etag };
        if (Seconds(Var("HF_HUB_DOWNLOAD_TIMEOUT"), "HF_HUB_DOWNLOAD_TIMEOUT") is { } read) options = options with { ReadTimeout = read };
        return options;
    }

    // huggingface_hub's HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
    static string HfHome(Func<string, string?> env) =>
        ExpandUser(env("HF_HOME") is { Length: > 0 } home ? home
            : Path.Combine(env("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(UserHome, ".cache"), "huggingface"));

    static string DefaultHfCache(Func<string, string?> env) =>
        ExpandUser(env("HF_HUB_CACHE") is { Length: > 0 } cache ? cache
            : env("HUGGINGFACE_HUB_CACHE") is { Length: > 0 } legacy ? legacy
            : Path.Combine(HfHome(env), "hub"));

    static string DefaultModelScopeCache(Func<string, string?> env) =>
        ExpandUser(env("MODELSCOPE_CACHE") is { Length: > 0 } cache ? cache : Path.Combine(UserHome, ".cache", "modelscope", "hub"));

    static string TokenPath(Func<string, string?> env) =>
        env("HF_TOKEN_PATH") is { Length: > 0 } path ? ExpandUser(path) : Path.Combine(HfHome(env), "token");

    static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } token ? token : null;
        }
        catch (IOException)
        {
            return null; // An unreadable token file means "no token", as in huggingface_hub.
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    static TimeSpan? Seconds(string? value, string name) =>
        value is null ? null
        : int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out int s) && s > 0 ? TimeSpan.FromSeconds(s)
        : throw new HubException(HubErrorKind.InvalidRequest, $"Environment variable {name}='{value}' is not a whole number of seconds; set it to e.g. 30 or unset it.");

    // huggingface_hub accepts 1/ON/YES/TRUE; LLaMA-Factory's is_env_enabled accepts true/y/1.
    static bool IsHubTrue(string? value) => value is not null && value.ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    static bool IsLlamaFactoryTrue(string? value) => value is not null && value.ToLowerInvariant() is "true" or "y" or "1";

    static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    static string ExpandUser(string path) =>
        path == "~" ? UserHome
        : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(UserHome, path[2..])
        : path;
}
