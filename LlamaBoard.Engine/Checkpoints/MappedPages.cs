using System.Runtime.InteropServices;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// Hints to the kernel about pages of a memory-mapped checkpoint. Pages of a mapped file that were read count as
/// resident memory of this process until unmapped, so a loader that maps a 1 GB file and copies it into 1 GB of
/// parameters would peak at twice the weights. Dropping each chunk's pages right after copying it keeps the peak
/// at the parameters alone; the data stays in the OS page cache, so nothing is read twice. Linux only; elsewhere
/// these calls do nothing (Windows trims working sets on its own).
/// </summary>
internal static partial class MappedPages
{
    const int MadvWillNeed = 3;
    const int MadvDontNeed = 4;
    const int MadvPopulateRead = 22; // Linux 5.14+
    const int MadvPopulateWrite = 23; // Linux 5.14+
    const int EInval = 22;
    static readonly long PageSize = Environment.SystemPageSize;
    static volatile bool populateUnsupported;

    /// <summary>Starts asynchronous read-ahead of [address, address + length) into the page cache (not into this process).</summary>
    public static void Prefetch(IntPtr address, long length) => Advise(address, length, MadvWillNeed, inward: true);

    /// <summary>
    /// Maps [address, address + length) in one call before it is read, instead of one page fault per 64 KiB
    /// (falls back to nothing on kernels before 5.14).
    /// </summary>
    public static void Populate(IntPtr address, long length)
    {
        if (populateUnsupported) return;
        if (Advise(address, length, MadvPopulateRead, inward: true) == EInval) populateUnsupported = true;
    }

    /// <summary>
    /// Faults in fresh memory [address, address + length) that is about to be written (a parameter being
    /// loaded) in one call instead of one trap per 4 KiB page (no-op before Linux 5.14).
    /// </summary>
    public static void PopulateForWrite(IntPtr address, long length)
    {
        if (populateUnsupported) return;
        if (Advise(address, length, MadvPopulateWrite, inward: true) == EInval) populateUnsupported = true;
    }

    /// <summary>Drops [address, address + length) from this process's resident set (the mapping must be private and unwritten).</summary>
    public static void Release(IntPtr address, long length) => Advise(address, length, MadvDontNeed, inward: false);

    /// <summary>Evicts a file's clean pages from the page cache (for cold-read measurements); false where unsupported.</summary>
    public static bool EvictFromPageCache(string path)
    {
        if (!OperatingSystem.IsLinux()) return false;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        const int PosixFadvDontNeed = 4;
        return posix_fadvise(handle.DangerousGetHandle().ToInt32(), 0, 0, PosixFadvDontNeed) == 0;
    }

    /// <summary>Returns 0, or the errno of a failed madvise.</summary>
    static int Advise(IntPtr address, long length, int advice, bool inward)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return 0;
        long start = (long)address;
        long end = start + length;
        // madvise wants page-aligned starts. Hints round inward; releasing rounds outward (a page shared with the
        // next tensor is only unmapped, and mapped again from the page cache when that tensor is read).
        long alignedStart = inward ? start + (PageSize - start % PageSize) % PageSize : start - start % PageSize;
        long alignedEnd = inward ? end - end % PageSize : end + (PageSize - end % PageSize) % PageSize;
        if (alignedEnd <= alignedStart) return 0;
        return madvise((IntPtr)alignedStart, (nuint)(alignedEnd - alignedStart), advice) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(IntPtr address, nuint length, int advice);

    [LibraryImport("libc")]
    private static partial int posix_fadvise(int fd, long offset, long length, int advice);
}

/// <summary>The operating system's file cache, for measurements that need a cold read.</summary>
public static class PageCache
{
    /// <summary>
    /// Asks the OS to drop <paramref name="path"/>'s clean cached pages (posix_fadvise DONTNEED; no privileges
    /// needed), so the next read comes from disk. False where unsupported (outside Linux).
    /// </summary>
    public static bool TryEvict(string path) => MappedPages.EvictFromPageCache(path);
}
