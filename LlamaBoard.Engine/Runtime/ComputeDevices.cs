using TorchSharp;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// Device policy in one place: "auto" means CUDA when this build and machine have it, else CPU; users may
/// name "cpu", "cuda" or "cuda:N". Multi-GPU data parallelism will be added here later.
/// </summary>
public static class ComputeDevices
{
    /// <summary>The accepted spellings, for validation messages.</summary>
    public const string Allowed = "auto, cpu, cuda, cuda:N";

    /// <summary>Resolves a device request ("auto" when null or empty) to a concrete TorchSharp device.</summary>
    /// <exception cref="ArgumentException">The spelling is unknown, or CUDA was asked for but is unavailable.</exception>
    public static torch.Device Resolve(string? request)
    {
        string spec = string.IsNullOrWhiteSpace(request) ? "auto" : request.Trim().ToLowerInvariant();
        TorchRuntime.EnsureInitialized();
        switch (spec)
        {
            case "auto":
                return TorchRuntime.IsCudaAvailable ? torch.CUDA : torch.CPU;
            case "cpu":
                return torch.CPU;
        }
        if (spec == "cuda" || spec.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (spec.Length > 4 && !int.TryParse(spec.AsSpan(5), out index))
                throw new ArgumentException($"device '{request}': expected one of {Allowed}.", nameof(request));
            if (!TorchRuntime.IsCudaAvailable)
                throw new ArgumentException(
                    $"device '{request}': CUDA is not available. This is a CPU build or no NVIDIA GPU is visible; " +
                    "build with -p:LlamaBoardBackend=cuda on a machine with a GPU, or choose device 'cpu'.", nameof(request));
            int count = TorchRuntime.CudaDeviceCount;
            if (index < 0 || index >= count)
                throw new ArgumentException($"device '{request}': only {count} CUDA device(s) are visible.", nameof(request));
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"device '{request}': expected one of {Allowed}.", nameof(request));
    }
}
