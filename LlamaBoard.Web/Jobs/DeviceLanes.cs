using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Web.Jobs;

/// <summary>
/// Names the device a job occupies, so that two jobs for the same device never run together: "auto" is resolved
/// (cuda:0 when CUDA is available, else cpu), "cuda" means cuda:0, spelling is lower-cased.
/// </summary>
public static class DeviceLanes
{
    /// <summary>The lane of a device request.</summary>
    public static string For(string? device)
    {
        string spec = string.IsNullOrWhiteSpace(device) ? "auto" : device.Trim().ToLowerInvariant();
        if (spec == "auto")
            spec = TorchRuntime.TryInitialize(out _) && TorchRuntime.IsCudaAvailable ? "cuda" : "cpu";
        return spec == "cuda" ? "cuda:0" : spec;
    }
}
