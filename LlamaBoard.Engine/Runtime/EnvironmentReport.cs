using System.Runtime.InteropServices;
using TorchSharp;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// What <c>llamaboard env</c> prints (the counterpart of <c>llamafactory-cli env</c>): the software stack,
/// devices, threads and precision support, as ordered name/value pairs.
/// </summary>
public static class EnvironmentReport
{
    /// <summary>Collects the report. Never throws: a libtorch that cannot load is reported as such.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Collect()
    {
        var rows = new List<KeyValuePair<string, string>>();
        void Add(string name, string value) => rows.Add(new(name, value));

        Add("LlamaBoard version", typeof(EnvironmentReport).Assembly.GetName().Version?.ToString(3) ?? "unknown");
        Add("Platform", $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Add(".NET version", RuntimeInformation.FrameworkDescription);
        Add("TorchSharp version", TorchRuntime.TorchSharpVersion);
        Add("Logical CPUs", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));

        if (!TorchRuntime.TryInitialize(out var problem))
        {
            Add("libtorch", "NOT LOADED: " + problem);
            return rows;
        }

        Add("libtorch version", TorchRuntime.LibTorchVersion);
        if (TorchRuntime.LoadNote.Contains("weak", StringComparison.Ordinal))
            Add("libtorch note", TorchRuntime.LoadNote);
        Add("CPU threads (libtorch)", TorchRuntime.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("CPU bf16 support", YesNo(DTypes.IsSupported(torch.ScalarType.BFloat16, torch.CPU)));
        Add("CPU fp16 support", YesNo(DTypes.IsSupported(torch.ScalarType.Float16, torch.CPU)));

        bool cuda = TorchRuntime.IsCudaAvailable;
        Add("CUDA available", YesNo(cuda));
        if (cuda)
        {
            Add("CUDA devices", TorchRuntime.CudaDeviceCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add("CUDA bf16 support", YesNo(DTypes.IsSupported(torch.ScalarType.BFloat16, torch.CUDA)));
        }
        foreach (var gpu in Nvml.ReadAll())
            Add($"GPU {gpu.Index}", $"{gpu.Name}, {ProcessMemory.Format(gpu.TotalBytes)} ({ProcessMemory.Format(gpu.UsedBytes)} in use)");
        if (Nvml.DriverVersion is { } driver)
            Add("NVIDIA driver", driver);
        Add("Default device", ComputeDevices.Resolve("auto").ToString());

        var memory = ProcessMemory.Read();
        Add("Process memory (RSS)", ProcessMemory.Format(memory.ResidentBytes));
        return rows;
    }

    static string YesNo(bool value) => value ? "yes" : "no";
}
