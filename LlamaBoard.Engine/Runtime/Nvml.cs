using System.Runtime.InteropServices;

namespace LlamaBoard.Engine.Runtime;

/// <summary>One NVIDIA GPU as NVML sees it.</summary>
/// <param name="Index">The CUDA-visible index.</param>
/// <param name="Name">Marketing name, for example "NVIDIA H100 80GB HBM3".</param>
/// <param name="TotalBytes">Device memory in bytes.</param>
/// <param name="UsedBytes">Device memory in use by all processes, in bytes.</param>
public sealed record GpuReading(int Index, string Name, long TotalBytes, long UsedBytes);

/// <summary>
/// Reads GPU names and memory through NVML (libnvidia-ml, installed with the NVIDIA driver), because TorchSharp
/// exposes no CUDA memory statistics. Absent driver = no GPUs, never an error.
/// </summary>
public static unsafe class Nvml
{
    static readonly Lazy<Api?> Loaded = new(Load);

    /// <summary>The NVIDIA driver version, or null when NVML is not present.</summary>
    public static string? DriverVersion
    {
        get
        {
            if (Loaded.Value is not { } api) return null;
            byte* buffer = stackalloc byte[96];
            return api.GetDriverVersion(buffer, 96) == 0 ? Marshal.PtrToStringAnsi((IntPtr)buffer) : null;
        }
    }

    /// <summary>Every GPU NVML reports, with current memory use; empty without an NVIDIA driver.</summary>
    public static IReadOnlyList<GpuReading> ReadAll()
    {
        if (Loaded.Value is not { } api) return [];
        uint count;
        if (api.GetCount(&count) != 0) return [];
        var result = new List<GpuReading>((int)count);
        byte* name = stackalloc byte[96];
        for (uint i = 0; i < count; i++)
        {
            IntPtr device;
            if (api.GetHandle(i, &device) != 0) continue;
            string deviceName = api.GetName(device, name, 96) == 0 ? Marshal.PtrToStringAnsi((IntPtr)name) ?? "?" : "?";
            MemoryInfo memory;
            if (api.GetMemory(device, &memory) != 0) memory = default;
            result.Add(new GpuReading((int)i, deviceName, (long)memory.Total, (long)memory.Used));
        }
        return result;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    sealed class Api
    {
        public delegate* unmanaged<uint*, int> GetCount;
        public delegate* unmanaged<uint, IntPtr*, int> GetHandle;
        public delegate* unmanaged<IntPtr, byte*, uint, int> GetName;
        public delegate* unmanaged<IntPtr, MemoryInfo*, int> GetMemory;
        public delegate* unmanaged<byte*, uint, int> GetDriverVersion;
    }

    static Api? Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["nvml.dll"] : ["libnvidia-ml.so.1", "libnvidia-ml.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var library)) continue;
            if (!NativeLibrary.TryGetExport(library, "nvmlInit_v2", out var init)) return null;
            if (((delegate* unmanaged<int>)init)() != 0) return null;
            return new Api
            {
                GetCount = (delegate* unmanaged<uint*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetCount_v2"),
                GetHandle = (delegate* unmanaged<uint, IntPtr*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetHandleByIndex_v2"),
                GetName = (delegate* unmanaged<IntPtr, byte*, uint, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetName"),
                GetMemory = (delegate* unmanaged<IntPtr, MemoryInfo*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetMemoryInfo"),
                GetDriverVersion = (delegate* unmanaged<byte*, uint, int>)NativeLibrary.GetExport(library, "nvmlSystemGetDriverVersion"),
            };
        }
        return null;
    }
}
