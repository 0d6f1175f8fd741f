namespace LlamaBoard.Engine.Export;

/// <summary>
/// A folder written as one: files go to a hidden staging folder next to the destination (same file system), and
/// <see cref="Commit"/> renames it into place. Until then the destination is untouched; disposing without
/// committing (an error, a full disk, a cancellation) deletes the staging folder, so nothing partial remains.
/// </summary>
public sealed class StagedFolder : IDisposable
{
    bool committed;

    StagedFolder(string destination, string staging)
    {
        Destination = destination;
        Path = staging;
    }

    /// <summary>The folder that receives the files on commit.</summary>
    public string Destination { get; }

    /// <summary>The staging folder to write into.</summary>
    public string Path { get; }

    /// <summary>
    /// Starts writing <paramref name="destination"/>. A destination that exists and holds files is refused unless
    /// <paramref name="overwrite"/> is set (then it is replaced as a whole on commit).
    /// </summary>
    /// <exception cref="IOException">The destination is a file, or a non-empty folder without <paramref name="overwrite"/>.</exception>
    public static StagedFolder Create(string destination, bool overwrite)
    {
        string full = System.IO.Path.GetFullPath(destination).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        if (System.IO.File.Exists(full))
            throw new IOException($"'{destination}' is a file; export_dir must name a folder.");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !overwrite)
            throw new IOException($"The export folder '{destination}' is not empty. Choose an empty or new export_dir, " +
                                  "or set export_overwrite: true to replace its contents.");
        string parent = System.IO.Path.GetDirectoryName(full)
                        ?? throw new IOException($"'{destination}' has no parent folder to stage the export in.");
        Directory.CreateDirectory(parent);
        string staging = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(full)}.export-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return new StagedFolder(full, staging);
    }

    /// <summary>A path inside the staging folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Moves the staged files into place (replacing an existing destination folder as a whole).</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(committed, this);
        if (!Directory.Exists(Destination))
        {
            Directory.Move(Path, Destination);
            committed = true;
            return;
        }
        string old = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Destination)!,
                                            $".{System.IO.Path.GetFileName(Destination)}.replaced-{Guid.NewGuid():N}");
        Directory.Move(Destination, old);
        try
        {
            Directory.Move(Path, Destination);
        }
        catch
        {
            Directory.Move(old, Destination); // put the previous export back
            throw;
        }
        committed = true;
        TryDelete(old);
    }

    /// <summary>Deletes the staging folder unless committed.</summary>
    public void Dispose()
    {
        if (!committed) TryDelete(Path);
        committed = true;
    }

    static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException) { /* best effort: a hidden leftover folder does not affect the export */ }
        catch (UnauthorizedAccessException) { }
    }
}
