namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// Answers whether a path lies inside a set of allowed folders ("roots"). Paths are compared in the form the
/// operating system will open them: made absolute against the current directory, <c>.</c> and <c>..</c> folded, and
/// every symbolic link on the way replaced by its final target, so that a link inside a root pointing outside counts
/// as outside. Case is ignored on Windows and macOS (whose default file systems ignore it) and respected elsewhere.
/// </summary>
/// <remarks>
/// The check is made when a path is chosen, not at every open: a link swapped in between (a race by someone who can
/// already write inside a root) is not caught.
/// </remarks>
public sealed class PathConfinement
{
    // Enough for any honest chain of links; more means a loop.
    const int MaxLinks = 40;

    /// <summary>Creates the confinement; each root is canonicalised like a checked path (it need not exist yet).</summary>
    /// <exception cref="ArgumentException">No root was given, or a root is not a valid path.</exception>
    public PathConfinement(IEnumerable<string> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var list = new List<string>();
        foreach (string root in roots.Where(r => !string.IsNullOrWhiteSpace(r)))
        {
            string canonical = Canonicalize(root.Trim());
            if (!list.Contains(canonical, Comparer)) list.Add(canonical);
        }
        if (list.Count == 0) throw new ArgumentException("At least one allowed folder is needed.", nameof(roots));
        Roots = list;
    }

    /// <summary>The allowed folders, canonical.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>How paths are compared on this operating system.</summary>
    public static StringComparer Comparer { get; } =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    static StringComparison Comparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// True when <paramref name="path"/> (relative paths against the current directory) is one of the roots or lies
    /// under one, after canonicalisation. Invalid paths and link loops are outside.
    /// </summary>
    public bool Contains(string path) =>
        TryCanonicalForms(path, out var forms) && forms.All(form => Roots.Any(root => IsUnder(form, root)));

    /// <summary>
    /// Combines <paramref name="folder"/> with a relative <paramref name="name"/> read from a file (a dataset's
    /// file_name, a path in a hub listing) and returns the full path, or null when the name is absolute or would lead
    /// outside the folder (through <c>..</c> or a symbolic link). The name may use '/' or the system's separator.
    /// </summary>
    public static string? CombineInside(string folder, string name)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (string.IsNullOrEmpty(name) || name.Contains('\0', StringComparison.Ordinal) || Path.IsPathRooted(name) ||
            (name.Length >= 2 && name[1] == ':')) // "C:x" is drive-relative on Windows: never a name inside a folder
            return null;
        string combined = Path.Combine(folder, name.Replace('/', Path.DirectorySeparatorChar));
        if (!TryCanonicalize(folder, out string root) || !TryCanonicalForms(combined, out var forms)) return null;
        return forms.All(form => IsUnder(form, root)) ? Path.GetFullPath(combined) : null;
    }

    /// <summary>True when canonical <paramref name="path"/> equals canonical <paramref name="root"/> or lies under it.</summary>
    public static bool IsUnder(string path, string root)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(root);
        string trimmed = Path.TrimEndingDirectorySeparator(root);
        if (path.Equals(trimmed, Comparison)) return true;
        // A bare file-system root ("/", "C:\") keeps its separator when trimmed.
        string prefix = trimmed.EndsWith(Path.DirectorySeparatorChar) ? trimmed : trimmed + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, Comparison);
    }

    /// <summary><see cref="Canonicalize"/> without exceptions: false for an invalid path or a loop of links.</summary>
    public static bool TryCanonicalize(string path, out string canonical)
    {
        try
        {
            canonical = Canonicalize(path);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException or UnauthorizedAccessException)
        {
            canonical = "";
            return false;
        }
    }

    /// <summary>
    /// The absolute path that opening <paramref name="path"/> from .NET reaches: made absolute against the current
    /// directory with <c>.</c> and <c>..</c> folded as written (what <see cref="Path.GetFullPath(string)"/>, and so every
    /// .NET file API, does first), then every existing symbolic link along it resolved, a dangling one too (writing
    /// through it would create its target). Parts that do not exist yet are kept as written.
    /// </summary>
    /// <exception cref="ArgumentException">The path is empty or invalid.</exception>
    /// <exception cref="IOException">The links form a loop (or a chain longer than 40).</exception>
    public static string Canonicalize(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path.Contains('\0', StringComparison.Ordinal)) throw new ArgumentException("The path contains a NUL character.", nameof(path));
        int links = 0;
        return Walk(Path.GetFullPath(path), ref links);
    }

    /// <summary>
    /// Every form a path can take when opened: the .NET form (<see cref="Canonicalize"/>) and, when the path holds
    /// <c>..</c>, the form native code (libtorch, a child process) reaches, where <c>..</c> climbs from a link's target
    /// as POSIX does. A path is inside only when all of its forms are.
    /// </summary>
    static bool TryCanonicalForms(string path, out IReadOnlyList<string> forms)
    {
        forms = [];
        if (!TryCanonicalize(path, out string managed)) return false;
        if (OperatingSystem.IsWindows() || !path.Split('/').Contains("..", StringComparer.Ordinal))
        {
            forms = [managed];
            return true;
        }
        try
        {
            int links = 0;
            forms = [managed, Walk(Path.Combine(Environment.CurrentDirectory, path), ref links)];
            return true;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static string Walk(string absolute, ref int links)
    {
        string current = Path.GetPathRoot(absolute) ?? throw new ArgumentException($"'{absolute}' has no root.", nameof(absolute));
        var parts = absolute[current.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        bool exists = true;
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part == ".") continue;
            if (part == "..")
            {
                // current is already free of links, so its parent is the physical parent.
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Combine(current, part);
            string? target = exists ? LinkTarget(next) : null;
            if (target is null)
            {
                exists = exists && Path.Exists(next);
                current = next;
                continue;
            }
            if (++links > MaxLinks) throw new IOException($"Too many symbolic links (a loop?) while resolving '{absolute}'.");
            // A relative target is relative to the link's own folder; the rest of the path continues from the target.
            string resolved = Path.Combine(current, target);
            string rest = string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..]);
            return Walk(rest.Length == 0 ? resolved : Path.Combine(resolved, rest), ref links);
        }
        return current;
    }

    /// <summary>The link's target as stored, or null when <paramref name="path"/> is not a link (or does not exist).</summary>
    static string? LinkTarget(string path)
    {
        try
        {
            // LinkTarget reads the link itself (readlink), not its target, so a dangling link is seen too.
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
