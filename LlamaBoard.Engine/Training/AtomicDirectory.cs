namespace LlamaBoard.Engine.Training;

/// <summary>
/// Writes a folder all at once: files go into a hidden temporary sibling, which is renamed onto the final name
/// only after everything was written and flushed. A crash never leaves a half-written checkpoint or export behind;
/// an earlier folder of the same name is replaced only at the final rename. (Single files: <see cref="Checkpoints.AtomicFile"/>.)
/// </summary>
public static class AtomicDirectory
{
    /// <summary>Runs <paramref name="write"/> into a temporary folder, then moves it to <paramref name="finalPath"/>.</summary>
    /// <param name="finalPath">The folder to produce.</param>
    /// <param name="write">Writes the content into the folder it is given.</param>
    /// <param name="overwrite">Replace an existing <paramref name="finalPath"/>; otherwise refuse a non-empty one.</param>
    public static void Write(string finalPath, Action<string> write, bool overwrite = true)
    {
        string full = Path.GetFullPath(finalPath);
        string parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{finalPath}' has no parent folder.");
        Directory.CreateDirectory(parent);
        if (!overwrite && Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new IOException($"'{full}' exists and is not empty; choose another folder or allow overwriting.");

        string temporary = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            write(temporary);
            string? previous = null;
            if (Directory.Exists(full))
            {
                // Two renames: the old folder is moved aside (still complete), the new one moved in, the old one deleted.
                previous = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
                Directory.Move(full, previous);
            }
            Directory.Move(temporary, full);
            if (previous is not null) Directory.Delete(previous, recursive: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Removes leftovers of interrupted writes (hidden <c>.name.tmp-*</c> / <c>.name.old-*</c> folders) under <paramref name="parent"/>.</summary>
    public static void CleanUp(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent, ".*.tmp-*").Concat(Directory.EnumerateDirectories(parent, ".*.old-*")))
            TryDelete(dir);
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
