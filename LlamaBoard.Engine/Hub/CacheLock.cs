namespace LlamaBoard.Engine.Hub;

/// <summary>
/// An exclusive lock on a lock file, so two downloads (threads, LlamaBoard processes, or Python's huggingface_hub,
/// whose filelock also uses flock) never append to the same <c>.incomplete</c> blob. .NET takes the lock with
/// <c>flock(LOCK_EX | LOCK_NB)</c> on Unix when a file is opened with <see cref="FileShare.None"/>, and a sharing
/// lock on Windows; a busy lock is retried until it frees or the download is cancelled.
/// </summary>
internal sealed class CacheLock : IDisposable
{
    readonly FileStream stream;

    CacheLock(FileStream stream) => this.stream = stream;

    public static async Task<CacheLock> AcquireAsync(string path, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                return new CacheLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Held by another download of the same blob: wait for it (it will usually finish the blob for us).
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
