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
    static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>Asks the kernel to start reading the pages of [address, address + length) ahead.</summary>
    public static void Prefetch(IntPtr address, long length) => Advise(address, length, MadvWillNeed, inward: true);

    /// <summary>Drops [address, address + length) from this process's resident set (the mapping must be private and unwritten).</summary>
    public static void Release(IntPtr address, long length) => Advise(address, length, MadvDontNeed, inward: false);

    static void Advise(IntPtr address, long length, int advice, bool inward)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return;
        long start = (long)address;
        long end = start + length;
        // madvise wants page-aligned starts. Releasing rounds outward: a page shared with the next tensor is only
        // unmapped, and will be mapped again from the page cache when that tensor is read.
        long alignedStart = start - start % PageSize;
        long alignedEnd = inward ? end : end + (PageSize - end % PageSize) % PageSize;
        if (alignedEnd <= alignedStart) return;
        _ = madvise((IntPtr)alignedStart, (nuint)(alignedEnd - alignedStart), advice);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(IntPtr address, nuint length, int advice);
}
