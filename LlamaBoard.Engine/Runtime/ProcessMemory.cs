using System.Diagnostics;

namespace LlamaBoard.Engine.Runtime;

/// <summary>A reading of this process's memory, in bytes.</summary>
/// <param name="ResidentBytes">Resident set size now (RSS).</param>
/// <param name="PeakResidentBytes">Highest resident set size since the process started (VmHWM on Linux).</param>
public readonly record struct ProcessMemoryReading(long ResidentBytes, long PeakResidentBytes);

/// <summary>Process memory from the operating system (TorchSharp has no allocator statistics).</summary>
public static class ProcessMemory
{
    /// <summary>Reads current and peak resident memory of this process.</summary>
    public static ProcessMemoryReading Read()
    {
        using var process = Process.GetCurrentProcess();
        // Process reads /proc/self/status on Linux: WorkingSet64 = VmRSS, PeakWorkingSet64 = VmHWM.
        return new ProcessMemoryReading(process.WorkingSet64, process.PeakWorkingSet64);
    }

    /// <summary>Formats a byte count as a short human-readable size, for example "1.25 GiB".</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : $"{value:0.##} {units[unit]}";
    }
}
