namespace LlamaBoard.Engine.Hub;

/// <summary>Turns file-system failures while writing the cache into messages that say what to do.</summary>
internal static class DiskErrors
{
    // .NET puts errno in HResult on Unix: ENOSPC is 28 (Linux and macOS), EDQUOT 122 (Linux) / 69 (macOS).
    // On Windows HResult is 0x8007xxxx with ERROR_HANDLE_DISK_FULL (39) or ERROR_DISK_FULL (112).
    public static bool IsDiskFull(IOException e) =>
        OperatingSystem.IsWindows()
            ? (e.HResult & 0xFFFF) is 39 or 112
            : e.HResult is 28 || (OperatingSystem.IsLinux() && e.HResult == 122) || (OperatingSystem.IsMacOS() && e.HResult == 69);

    public static HubException Translate(IOException e, string path)
    {
        string folder = Path.GetDirectoryName(path) ?? path;
        return IsDiskFull(e)
            ? new HubException(HubErrorKind.DiskFull,
                $"The disk holding {folder} is full ({e.Message}). Free some space or point HF_HUB_CACHE (or --cache-dir) at a larger disk, " +
                "then run again: the partial download is kept and resumes.", e)
            : new HubException(HubErrorKind.CacheNotWritable,
                $"Cannot write {path}: {e.Message}. Make sure the cache folder is writable, or choose another with HF_HUB_CACHE or --cache-dir.", e);
    }

    /// <summary>Free bytes on the volume holding <paramref name="folder"/>, or null when it cannot be told.</summary>
    public static long? FreeBytes(string folder)
    {
        try
        {
            for (var dir = new DirectoryInfo(folder); dir is not null; dir = dir.Parent)
                if (dir.Exists) return new DriveInfo(dir.FullName).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Unknown: the download proceeds and a real ENOSPC is still reported when it happens.
        }
        return null;
    }
}
