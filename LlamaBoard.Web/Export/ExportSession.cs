using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Recipes;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Export;

/// <summary>A file an export wrote.</summary>
/// <param name="Path">Its full path.</param>
/// <param name="Bytes">Its size.</param>
public sealed record ExportedFile(string Path, long Bytes);

/// <summary>
/// The Export tab's job in one browser tab (scoped per circuit): runs the engine's <see cref="IModelExporter"/> on a
/// thread of its own with the form's options (model, adapters merged in order, export_dir, format, GGUF type,
/// shard size, dtype, device), collects its progress lines, and ends with the files written or the error. Paths
/// outside the board's allowed folders (<see cref="BoardRoots"/>) are refused before anything is read or written.
/// </summary>
public sealed class ExportSession(IModelExporter exporter, BoardRoots roots) : IDisposable
{
    readonly Lock sync = new();
    readonly List<string> lines = [];
    CancellationTokenSource? running;

    /// <summary>True while an export runs.</summary>
    public bool IsRunning => running is not null;

    /// <summary>The progress lines of the current or last export.</summary>
    public IReadOnlyList<string> Lines { get { lock (sync) return [.. lines]; } }

    /// <summary>What the last export wrote; null before one succeeded.</summary>
    public ExportResult? Result { get; private set; }

    /// <summary>The files of <see cref="Result"/> with their sizes.</summary>
    public IReadOnlyList<ExportedFile> Files { get; private set; } = [];

    /// <summary>Why the last export failed, in plain words; null otherwise.</summary>
    public string? Error { get; private set; }

    /// <summary>The last export was cancelled.</summary>
    public bool Cancelled { get; private set; }

    /// <summary>Raised on every progress line and state change, from the exporting thread: coalesce before rendering.</summary>
    public event Action? Changed;

    /// <summary>Exports as <paramref name="options"/> say; returns when it has finished, failed or been cancelled.</summary>
    /// <exception cref="InvalidOperationException">An export is already running.</exception>
    public async Task RunAsync(LlamaBoardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (running is not null) throw new InvalidOperationException("An export is already running.");
        using var stop = new CancellationTokenSource();
        running = stop;
        lock (sync) lines.Clear();
        Result = null;
        Files = [];
        Error = null;
        Cancelled = false;
        Changed?.Invoke();
        var copy = options.Clone();
        try
        {
            roots.EnsureAllowed(copy, ["model_name_or_path", "adapter_name_or_path", "export_dir"]);
            var result = await Task.Factory.StartNew(() => Export(copy, stop.Token), stop.Token,
                                                     TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            Files = result.Files.Select(f => new ExportedFile(f, File.Exists(f) ? new FileInfo(f).Length : 0)).ToList();
            Result = result; // after Files: a render in between never shows a result without its files
        }
        catch (OperationCanceledException)
        {
            Cancelled = true;
        }
#pragma warning disable CA1031 // Any failure (folders, model, adapter, GGUF compatibility, disk) is shown on the board.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Error = e.Message;
        }
        finally
        {
            running = null;
            Changed?.Invoke();
        }
    }

    ExportResult Export(LlamaBoardOptions options, CancellationToken stop)
    {
        // The model folder as training finds it: the demo model is created on first use, hub ids are downloaded.
        string folder = RecipeSetup.ModelFolder(options, new LogLines(Add), stop);
        var request = ExportRequest.FromOptions(options) with { ModelDirectory = folder };
        return exporter.Export(request, new LogLines(Add), stop);
    }

    void Add(string line)
    {
        lock (sync) lines.Add(line);
        Changed?.Invoke();
    }

    /// <summary>Stops the export at its next check; nothing is left at export_dir.</summary>
    public void Cancel()
    {
        try
        {
            running?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It finished meanwhile.
        }
    }

    /// <summary>Progress as lines, synchronously (on the exporting thread).</summary>
    sealed class LogLines(Action<string> add) : IProgress<string>, IProgress<TrainingEvent>
    {
        public void Report(string value) => add(value);

        public void Report(TrainingEvent value)
        {
            if (value is TrainingLog log) add(log.Message);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Cancel();
}
