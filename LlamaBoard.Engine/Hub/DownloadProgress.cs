namespace LlamaBoard.Engine.Hub;

/// <summary>The stage a download is in.</summary>
public enum DownloadPhase
{
    /// <summary>Asking the hub for the revision's commit and file list (or reading them from the cache).</summary>
    Resolving,
    /// <summary>Transferring files; bytes and rate move.</summary>
    Downloading,
    /// <summary>Everything is in the cache; <see cref="DownloadProgress.BytesDone"/> equals the total.</summary>
    Completed,
}

/// <summary>
/// One progress report for a repository download, fit for a progress bar: bytes done of the total (files already in
/// the cache count as done from the start), the transfer rate over the last seconds, the time left at that rate,
/// and the file being transferred. Reports are throttled (a few per second) and the last one has
/// <see cref="Phase"/> = <see cref="DownloadPhase.Completed"/>.
/// </summary>
/// <param name="Repo">The repository id.</param>
/// <param name="Phase">The stage.</param>
/// <param name="BytesDone">Bytes in the cache so far for the selected files (including those already cached).</param>
/// <param name="BytesTotal">Bytes of all selected files; null while still unknown (during <see cref="DownloadPhase.Resolving"/>).</param>
/// <param name="BytesPerSecond">Transfer rate over the last few seconds; 0 before any byte arrived.</param>
/// <param name="Eta">Time left at the current rate; null when the rate or the total is unknown.</param>
/// <param name="CurrentFile">A file being transferred now (the most recently started one), or null.</param>
/// <param name="FilesDone">Files in the cache so far.</param>
/// <param name="FilesTotal">Selected files; 0 while still unknown.</param>
public sealed record DownloadProgress(
    string Repo,
    DownloadPhase Phase,
    long BytesDone,
    long? BytesTotal,
    double BytesPerSecond,
    TimeSpan? Eta,
    string? CurrentFile,
    int FilesDone,
    int FilesTotal)
{
    /// <summary>Done fraction in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => BytesTotal is > 0 and var total ? Math.Clamp((double)BytesDone / total, 0, 1)
        : BytesTotal == 0 ? 1 : null;

    /// <summary>A byte count as people read it: "512 B", "3.4 MB", "1.20 GB" (decimal units, like the hub's pages).</summary>
    public static string FormatBytes(double bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        int unit = 0;
        while (Math.Abs(bytes) >= 1000 && unit < units.Length - 1)
        {
            bytes /= 1000;
            unit++;
        }
        return unit == 0 ? $"{bytes:0} B"
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes:0.##} {units[unit]}");
    }
}
