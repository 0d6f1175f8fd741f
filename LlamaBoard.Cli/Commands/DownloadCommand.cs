using System.CommandLine;
using LlamaBoard.Engine.Hub;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard download &lt;repo_id&gt;</c>: fetch a model or dataset from the Hugging Face hub (or ModelScope) into
/// the shared cache, with a progress bar (bytes, rate, time left), and print the local folder as the last line.
/// </summary>
internal static class DownloadCommand
{
    public static Command Create(TextWriter output, TextWriter error) => Create(output, error, Environment.GetEnvironmentVariable);

    /// <summary>
    /// The command, reading HF_* and MODELSCOPE_* variables through <paramref name="environment"/>; tests pass their
    /// own, and <paramref name="terminal"/> = true to draw the live bar into a captured writer.
    /// </summary>
    internal static Command Create(TextWriter output, TextWriter error, Func<string, string?> environment, bool? terminal = null)
    {
        var repoId = new Argument<string>("repo_id")
        {
            Description = "Hub id such as Qwen/Qwen2.5-0.5B-Instruct, or a catalogue name such as Qwen2.5-0.5B-Instruct.",
        };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (default: main; master on ModelScope)." };
        var repoType = new Option<string>("--repo-type") { Description = "model or dataset.", DefaultValueFactory = _ => "model" };
        repoType.AcceptOnlyFromAmong("model", "dataset");
        var include = new Option<string[]>("--include")
        {
            Description = "Only files matching these globs (fnmatch: '*.json', 'sub/'). Default for models: config, tokenizer " +
                          "and safetensors weights; for datasets: everything.",
            AllowMultipleArgumentsPerToken = true,
        };
        var exclude = new Option<string[]>("--exclude") { Description = "Leave out files matching these globs.", AllowMultipleArgumentsPerToken = true };
        var all = new Option<bool>("--all") { Description = "Download every file of the repository." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Cache folder (default: HF_HUB_CACHE, or MODELSCOPE_CACHE with --source modelscope)." };
        var offline = new Option<bool>("--offline") { Description = "Use only the cache, no network (like HF_HUB_OFFLINE=1)." };
        var source = new Option<string?>("--source") { Description = "hf or modelscope (default: hf, or modelscope when USE_MODELSCOPE_HUB=1)." };
        source.AcceptOnlyFromAmong("hf", "modelscope");
        var endpoint = new Option<string?>("--endpoint") { Description = "Hub address (default: HF_ENDPOINT, or MODELSCOPE_DOMAIN for ModelScope)." };

        var command = new Command("download", "Download a model or dataset from the Hugging Face hub or ModelScope into the local cache, " +
                                              "resuming interrupted transfers, and print its local folder.")
        {
            repoId, revision, repoType, include, exclude, all, cacheDir, offline, source, endpoint,
        };
        command.SetAction(async (parse, ct) =>
        {
            HubOptions options;
            try
            {
                options = HubOptions.FromEnvironment(environment);
            }
            catch (HubException e)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
            if (parse.GetValue(source) is { } s) options = options with { Source = s == "modelscope" ? HubSource.ModelScope : HubSource.HuggingFace };
            bool ms = options.Source == HubSource.ModelScope;
            if (parse.GetValue(cacheDir) is { } dir) options = ms ? options with { ModelScopeCacheDir = Path.GetFullPath(dir) } : options with { CacheDir = Path.GetFullPath(dir) };
            if (parse.GetValue(endpoint) is { } url) options = ms ? options with { ModelScopeEndpoint = url.TrimEnd('/') } : options with { Endpoint = url.TrimEnd('/') };
            if (parse.GetValue(offline)) options = options with { Offline = true };
            if (parse.GetValue(revision) is { } rev) options = options with { Revision = rev };

            var type = parse.GetValue(repoType) == "dataset" ? HubRepoType.Dataset : HubRepoType.Model;
            string id = parse.GetValue(repoId)!.Trim();
            if (type == HubRepoType.Model && !id.Contains('/', StringComparison.Ordinal) && ModelCatalog.Find(id) is { } entry)
            {
                id = entry.IdFor(options.Source);
                output.WriteLine($"{entry.Name} (catalogue) is {id} on {(ms ? "ModelScope" : "the Hugging Face hub")}; chat template '{entry.Template}'.");
            }
            if (!HubRepoId.IsValid(id))
            {
                error.WriteLine($"error: '{id}' is not a hub repository id: expected 'organisation/name' (e.g. Qwen/Qwen2.5-0.5B-Instruct).");
                return ExitCodes.BadConfiguration;
            }
            string[] includes = parse.GetValue(include) ?? [];
            var filter = new HubFileFilter
            {
                Include = includes,
                Exclude = parse.GetValue(exclude) ?? [],
                ModelFilesOnly = type == HubRepoType.Model && includes.Length == 0 && !parse.GetValue(all),
            };
            // Ctrl+C stops the transfers cleanly (partial files stay resumable) instead of killing the process.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                return await RunAsync(new HubRepoId(id, type), options, filter, output, error, terminal, stop.Token).ConfigureAwait(false);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }

    static async Task<int> RunAsync(HubRepoId repo, HubOptions options, HubFileFilter filter, TextWriter output, TextWriter error,
        bool? terminal, CancellationToken ct)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal == true ? AnsiSupport.Yes : AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = terminal == true ? InteractionSupport.Yes : InteractionSupport.Detect,
        });
        try
        {
            using var client = new HubClient(options);
            var snapshot = console.Profile.Capabilities.Interactive
                ? await WithProgressBarAsync(console, client, repo, filter, ct).ConfigureAwait(false)
                : await WithProgressLinesAsync(output, client, repo, filter, ct).ConfigureAwait(false);

            if (snapshot.Notice is { } notice) output.WriteLine($"note: {notice}");
            long bytes = snapshot.Files.Sum(f => HubFileLength(snapshot.Folder, f));
            output.WriteLine(snapshot.BytesDownloaded > 0
                ? $"Downloaded {DownloadProgress.FormatBytes(snapshot.BytesDownloaded)}; {snapshot.Files.Count} files ({DownloadProgress.FormatBytes(bytes)}) of {repo} at {ShortCommit(snapshot)} are in the cache:"
                : $"All {snapshot.Files.Count} files ({DownloadProgress.FormatBytes(bytes)}) of {repo} at {ShortCommit(snapshot)} were already in the cache:");
            output.WriteLine(snapshot.Folder);
            return ExitCodes.Success;
        }
        catch (HubException e)
        {
            error.WriteLine($"error: {e.Message}");
            return e.Kind is HubErrorKind.InvalidRequest ? ExitCodes.BadConfiguration : ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            error.WriteLine("Download stopped. Partial files are kept; run the same command again to resume.");
            return ExitCodes.Aborted;
        }
    }

    static string ShortCommit(HubSnapshot s) => s.Commit.Length == 40 ? s.Commit[..12] : s.Commit;

    /// <summary>A snapshot file's length, following its link into blobs/.</summary>
    static long HubFileLength(string folder, string path)
    {
        var info = new FileInfo(Path.Combine(folder, path));
        return info.LinkTarget is null ? info.Length : info.ResolveLinkTarget(true) is FileInfo target && target.Exists ? target.Length : 0;
    }

    /// <summary>A live bar on a terminal: bytes done of total, rate, time left and the file being fetched.</summary>
    static async Task<HubSnapshot> WithProgressBarAsync(IAnsiConsole console, HubClient client, HubRepoId repo, HubFileFilter filter, CancellationToken ct)
    {
        var status = new StatusColumn();
        HubSnapshot? snapshot = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), status, new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(repo.Id), maxValue: 1);
                task.IsIndeterminate = true;
                var progress = new Reporter(p =>
                {
                    status.Latest = p;
                    if (p.BytesTotal is { } total)
                    {
                        task.IsIndeterminate = false;
                        task.MaxValue = Math.Max(1, total);
                        task.Value = total == 0 ? 1 : p.BytesDone;
                    }
                    if (p.Phase == DownloadPhase.Completed) task.StopTask();
                });
                snapshot = await client.DownloadAsync(repo, filter, progress, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return snapshot!;
    }

    /// <summary>Plain lines for logs and pipes: one when the plan is known, then about every 10 %, and at the end.</summary>
    static async Task<HubSnapshot> WithProgressLinesAsync(TextWriter output, HubClient client, HubRepoId repo, HubFileFilter filter, CancellationToken ct)
    {
        int lastDecile = -1;
        var gate = new object();
        var progress = new Reporter(p =>
        {
            if (p.Phase == DownloadPhase.Resolving) return;
            int decile = (int)Math.Floor((p.Fraction ?? 0) * 10);
            lock (gate)
            {
                if (decile == lastDecile && p.Phase != DownloadPhase.Completed) return;
                if (p.Phase == DownloadPhase.Completed && lastDecile == 10) return;
                lastDecile = p.Phase == DownloadPhase.Completed ? 10 : decile;
                output.WriteLine($"{repo.Id}: {StatusColumn.Describe(p)}");
            }
        });
        return await client.DownloadAsync(repo, filter, progress, ct).ConfigureAwait(false);
    }

    /// <summary>Calls back on the reporting thread (Progress&lt;T&gt; would post to a context the CLI does not have).</summary>
    sealed class Reporter(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    /// <summary>"1.2 GB / 3.4 GB  25.1 MB/s  ETA 01:32  model-00001-of-00002.safetensors" from the engine's own figures.</summary>
    sealed class StatusColumn : ProgressColumn
    {
        public volatile DownloadProgress? Latest;

        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(Latest is { } p ? Describe(p) : "resolving…");

        public static string Describe(DownloadProgress p)
        {
            string total = p.BytesTotal is { } t ? DownloadProgress.FormatBytes(t) : "?";
            string eta = p.Eta is { } e ? (e.TotalHours >= 1 ? $"{(int)e.TotalHours}:{e:mm\\:ss}" : $"{e:mm\\:ss}") : "--:--";
            string files = $"{p.FilesDone}/{p.FilesTotal} files";
            return p.Phase == DownloadPhase.Completed
                ? $"{DownloadProgress.FormatBytes(p.BytesDone)} / {total}  {files}  done"
                : $"{DownloadProgress.FormatBytes(p.BytesDone)} / {total}  {DownloadProgress.FormatBytes(p.BytesPerSecond)}/s  ETA {eta}  {files}" +
                  (p.CurrentFile is { } f ? $"  {f}" : "");
        }
    }
}
