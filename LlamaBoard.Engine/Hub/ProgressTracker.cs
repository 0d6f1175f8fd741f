using System.Diagnostics;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Adds up the bytes of parallel file transfers into one <see cref="DownloadProgress"/> stream: thread-safe counters,
/// a rate over a sliding window of recent samples, and reports throttled to <see cref="MinInterval"/> so a fast
/// transfer does not flood the board's SignalR connection. A timer sends the report that throttling held back and,
/// while a transfer stalls, keeps reporting (about once a second) so the rate visibly falls and the ETA grows.
/// </summary>
internal sealed class ProgressTracker : IDisposable
{
    static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(5);
    static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);
    static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(1);

    readonly string repo;
    readonly IProgress<DownloadProgress>? sink;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly Queue<(TimeSpan At, long Bytes)> samples = new();
    readonly object gate = new();
    Timer? timer;
    TimeSpan lastReport = TimeSpan.MinValue;
    TimeSpan lastSampleAt;
    bool dirty;
    long bytesDone;
    long? bytesTotal;
    long transferred;
    int filesDone;
    int filesTotal;
    string? currentFile;
    DownloadPhase phase = DownloadPhase.Resolving;

    public ProgressTracker(string repo, IProgress<DownloadProgress>? sink)
    {
        this.repo = repo;
        this.sink = sink;
    }

    /// <summary>Shortest time between two reports (phase changes and the final report are never held back).</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Bytes received from the network in this download (not counting what the cache already held).</summary>
    public long Transferred
    {
        get
        {
            lock (gate) return transferred;
        }
    }

    public void Resolving() => Report(force: true);

    /// <summary>Known plan: <paramref name="totalBytes"/> over <paramref name="totalFiles"/>, some already cached.</summary>
    public void Start(long totalBytes, int totalFiles, long cachedBytes, int cachedFiles)
    {
        lock (gate)
        {
            bytesTotal = totalBytes;
            filesTotal = totalFiles;
            bytesDone = cachedBytes;
            filesDone = cachedFiles;
            phase = DownloadPhase.Downloading;
            if (sink is not null) timer ??= new Timer(_ => Tick(), null, MinInterval, MinInterval);
        }
        Report(force: true);
    }

    public void FileStarted(string path)
    {
        lock (gate) currentFile = path;
        Report(force: false);
    }

    /// <summary><paramref name="bytes"/> more bytes of a file are on disk; <paramref name="fromNetwork"/> is false for a resumed prefix.</summary>
    public void Add(long bytes, bool fromNetwork = true)
    {
        lock (gate)
        {
            bytesDone += bytes;
            if (fromNetwork) transferred += bytes;
        }
        Report(force: false);
    }

    /// <summary>A transfer restarted from zero (the server ignored the Range request): take back what it had counted.</summary>
    public void Rewind(long bytes)
    {
        lock (gate) bytesDone -= bytes;
    }

    public void FilesCompleted(int count)
    {
        lock (gate) filesDone += count;
        Report(force: false);
    }

    public void Completed()
    {
        lock (gate)
        {
            StopTimer();
            phase = DownloadPhase.Completed;
            bytesDone = bytesTotal ?? bytesDone;
            filesDone = filesTotal;
            currentFile = null;
        }
        Report(force: true);
    }

    public void Dispose()
    {
        lock (gate) StopTimer();
    }

    void StopTimer()
    {
        timer?.Dispose();
        timer = null;
    }

    void Tick()
    {
        bool due;
        lock (gate) due = phase == DownloadPhase.Downloading && (dirty || clock.Elapsed - lastReport >= Heartbeat);
        if (due) Report(force: true);
    }

    void Report(bool force)
    {
        if (sink is null) return;
        DownloadProgress report;
        lock (gate)
        {
            var now = clock.Elapsed;
            // One sample per 100 ms keeps the window small however many chunks arrive.
            if (samples.Count == 0 || now - lastSampleAt >= SampleEvery)
            {
                samples.Enqueue((now, transferred));
                lastSampleAt = now;
            }
            while (samples.Count > 2 && now - samples.Peek().At > RateWindow) samples.Dequeue();
            if (!force && now - lastReport < MinInterval)
            {
                dirty = true; // The timer sends it.
                return;
            }
            lastReport = now;
            dirty = false;

            // The rate runs up to now (not the last sample), so a stall shows as a falling rate.
            var (firstAt, firstBytes) = samples.Peek();
            double seconds = (now - firstAt).TotalSeconds;
            double rate = seconds > 0.05 ? (transferred - firstBytes) / seconds : 0;
            TimeSpan? eta = phase == DownloadPhase.Completed ? TimeSpan.Zero
                : bytesTotal is { } total && rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, total - bytesDone) / rate) : null;
            report = new DownloadProgress(repo, phase, bytesDone, bytesTotal, rate, eta, currentFile, filesDone, filesTotal);
        }
        sink.Report(report);
    }
}
