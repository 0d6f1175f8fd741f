namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// Writes files so that readers see either the old file or the complete new one, never a half-written file:
/// data goes to a hidden temporary file in the same folder (same file system, so the rename is atomic), is
/// flushed to disk, and only then renamed over the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> atomically through <paramref name="write"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        using var staged = AtomicFileSet.Create();
        staged.Stage(path, write);
        staged.Commit();
    }

    /// <summary>Writes UTF-8 text (without a byte order mark) to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });
}

/// <summary>
/// Several files written as one: each is staged to a temporary file, and <see cref="Commit"/> renames them all
/// into place at the end (so a failure while writing shard 3 of 4 leaves the previous checkpoint untouched).
/// Disposing without committing deletes the temporary files.
/// </summary>
public sealed class AtomicFileSet : IDisposable
{
    readonly List<(string Temp, string Target)> staged = [];
    bool committed;

    AtomicFileSet() { }

    /// <summary>Starts an empty set.</summary>
    public static AtomicFileSet Create() => new();

    /// <summary>Writes the future content of <paramref name="path"/> to a temporary file next to it.</summary>
    public void Stage(string path, Action<Stream> write)
    {
        ObjectDisposedException.ThrowIf(committed, this);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        staged.Add((temp, full));
        using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        write(stream);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Renames every staged file over its target, in the order staged.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(committed, this);
        foreach (var (temp, target) in staged)
            File.Move(temp, target, overwrite: true);
        committed = true;
        staged.Clear();
    }

    /// <summary>Deletes temporary files that were not committed.</summary>
    public void Dispose()
    {
        foreach (var (temp, _) in staged)
        {
            try { File.Delete(temp); }
            catch (IOException) { /* best effort: a leftover hidden temp file is harmless */ }
            catch (UnauthorizedAccessException) { }
        }
        staged.Clear();
    }
}
