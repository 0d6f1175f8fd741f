using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// Floating-point dtype names (as Hugging Face configs and LLaMA-Factory spell them) and whether a device
/// can compute in them.
/// </summary>
public static class DTypes
{
    static readonly Dictionary<string, ScalarType> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["float32"] = ScalarType.Float32, ["fp32"] = ScalarType.Float32, ["float"] = ScalarType.Float32,
        ["bfloat16"] = ScalarType.BFloat16, ["bf16"] = ScalarType.BFloat16,
        ["float16"] = ScalarType.Float16, ["fp16"] = ScalarType.Float16, ["half"] = ScalarType.Float16,
    };

    static readonly ConcurrentDictionary<(ScalarType, string), bool> Support = new();

    /// <summary>The accepted spellings, for validation messages.</summary>
    public const string Allowed = "float32 (fp32), bfloat16 (bf16), float16 (fp16)";

    /// <summary>Parses a dtype name such as "bf16" or "torch.bfloat16"; null when unknown.</summary>
    public static ScalarType? TryParse(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        string key = name.Trim();
        if (key.StartsWith("torch.", StringComparison.OrdinalIgnoreCase)) key = key[6..];
        return ByName.TryGetValue(key, out var type) ? type : null;
    }

    /// <summary>The Hugging Face spelling of a dtype ("float32", "bfloat16", "float16").</summary>
    public static string HfName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// True when <paramref name="device"/> can run a matmul, a softmax and their backward pass in
    /// <paramref name="type"/>. Measured once per device by trying it, because support depends on the
    /// hardware (bf16 on old GPUs) and the libtorch build (fp16 kernels on CPU).
    /// </summary>
    public static bool IsSupported(ScalarType type, Device device)
    {
        TorchRuntime.EnsureInitialized();
        return Support.GetOrAdd((type, device.ToString()), _ => Probe(type, device));
    }

    static bool Probe(ScalarType type, Device device)
    {
        try
        {
            using var scope = NewDisposeScope();
            var a = randn(8, 8, dtype: type, device: device).requires_grad_(true);
            var loss = a.matmul(a).softmax(-1).sum();
            loss.backward();
            return a.grad is not null && !a.grad.isnan().any().item<bool>();
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            return false;
        }
    }
}
