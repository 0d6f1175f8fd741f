using System.Runtime.InteropServices;

namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// Gives freed native heap memory back to the operating system (glibc's malloc_trim). Quantizing projection after
/// projection allocates and frees temporaries of a few to a few dozen MiB; glibc raises its mmap threshold after the
/// first such free, so later temporaries come from the heap, interleave with the long-lived quantized tensors and
/// stay resident as free but unreturned memory. Trimming after each projection keeps the resident set at what is
/// actually in use. A no-op where glibc is not the allocator.
/// </summary>
internal static partial class NativeHeap
{
    static bool unavailable = !OperatingSystem.IsLinux();

    /// <summary>Releases free heap pages to the system, if the C library can.</summary>
    public static void Trim()
    {
        if (unavailable) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            unavailable = true;   // musl and other C libraries have no malloc_trim
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
