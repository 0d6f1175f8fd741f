using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Web.Services;

/// <summary>One reading for the footer.</summary>
/// <param name="Device">The device's name ("NVIDIA H100 80GB HBM3", "CPU").</param>
/// <param name="UsedBytes">Memory in use: the GPU's (all processes) or this process's resident memory.</param>
/// <param name="TotalBytes">The GPU's memory; null for the CPU.</param>
public sealed record DeviceReading(string Device, long UsedBytes, long? TotalBytes);

/// <summary>What the footer shows: each GPU's name and memory through NVML, else the CPU and this process's memory.</summary>
public sealed class DeviceMonitor
{
    /// <summary>Reads now.</summary>
    public IReadOnlyList<DeviceReading> Read()
    {
        var gpus = Nvml.ReadAll();
        if (gpus.Count > 0)
            return gpus.Select(g => new DeviceReading($"GPU {g.Index}: {g.Name}", g.UsedBytes, g.TotalBytes)).ToList();
        return [new DeviceReading($"CPU ({Environment.ProcessorCount} threads)", ProcessMemory.Read().ResidentBytes, null)];
    }

    /// <summary>The devices a run can use: auto, cpu, and each CUDA device of this build.</summary>
    public IReadOnlyList<string> ComputeDevices()
    {
        var devices = new List<string> { "auto", "cpu" };
        if (TorchRuntime.TryInitialize(out _) && TorchRuntime.IsCudaAvailable)
            for (int i = 0; i < TorchRuntime.CudaDeviceCount; i++)
                devices.Add($"cuda:{i}");
        return devices;
    }
}
