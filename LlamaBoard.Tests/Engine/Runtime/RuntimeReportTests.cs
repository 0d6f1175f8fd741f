using LlamaBoard.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Runtime;

/// <summary>Device policy, dtype support and memory readings from the running process.</summary>
public class RuntimeReportTests
{
    public RuntimeReportTests() => Torch.EnsureReady();

    [Fact]
    public void Cpu_is_always_resolvable_and_auto_follows_cuda_availability()
    {
        Assert.Equal(DeviceType.CPU, ComputeDevices.Resolve("cpu").type);
        var expected = TorchRuntime.IsCudaAvailable ? DeviceType.CUDA : DeviceType.CPU;
        Assert.Equal(expected, ComputeDevices.Resolve(null).type);
        Assert.Equal(expected, ComputeDevices.Resolve("AUTO").type);
    }

    [Fact]
    public void Unknown_device_names_list_the_allowed_spellings()
    {
        var error = Assert.Throws<ArgumentException>(() => ComputeDevices.Resolve("tpu"));
        Assert.Contains("'tpu'", error.Message);
        Assert.Contains(ComputeDevices.Allowed, error.Message);
    }

    [Fact]
    public void Asking_for_cuda_without_cuda_says_what_to_do()
    {
        if (TorchRuntime.IsCudaAvailable) return; // meaningful only on CPU-only machines and builds, as in CI
        var error = Assert.Throws<ArgumentException>(() => ComputeDevices.Resolve("cuda:0"));
        Assert.Contains("CUDA is not available", error.Message);
        Assert.Contains("LlamaBoardBackend=cuda", error.Message);
    }

    [Theory]
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("torch.bfloat16", ScalarType.BFloat16)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData("FP32", ScalarType.Float32)]
    public void Dtype_names_parse_as_hugging_face_and_llama_factory_spell_them(string name, ScalarType expected) =>
        Assert.Equal(expected, DTypes.TryParse(name));

    [Fact]
    public void Unknown_dtype_names_parse_to_null() => Assert.Null(DTypes.TryParse("float8"));

    [Fact]
    public void Cpu_supports_fp32_and_the_probe_agrees_with_a_real_bf16_matmul()
    {
        Assert.True(DTypes.IsSupported(ScalarType.Float32, CPU));
        bool bf16 = DTypes.IsSupported(ScalarType.BFloat16, CPU);
        using var scope = NewDisposeScope();
        var a = ones(4, 4, dtype: ScalarType.BFloat16);
        // libtorch 2.10 ships bf16 CPU kernels, so the probe must say yes and the product must be exact.
        Assert.True(bf16);
        Assert.Equal(4.0f, a.matmul(a)[0, 0].to_type(ScalarType.Float32).item<float>());
    }

    [Fact]
    public void Resident_memory_grows_when_a_large_tensor_is_touched()
    {
        var before = ProcessMemory.Read();
        Assert.True(before.ResidentBytes > 10 << 20);
        using var big = ones(64L << 20, dtype: ScalarType.Float32); // 256 MiB, written so the pages are resident
        var after = ProcessMemory.Read();
        Assert.True(after.PeakResidentBytes >= after.ResidentBytes);
        Assert.True(after.ResidentBytes - before.ResidentBytes > 200L << 20,
            $"RSS went from {ProcessMemory.Format(before.ResidentBytes)} to {ProcessMemory.Format(after.ResidentBytes)}");
    }

    [Fact]
    public void Environment_report_names_the_stack_and_devices()
    {
        var report = EnvironmentReport.Collect().ToDictionary(r => r.Key, r => r.Value);
        Assert.Equal("0.107.0", report["TorchSharp version"]);
        Assert.StartsWith("2.10.0", report["libtorch version"]);
        Assert.Equal("yes", report["CPU bf16 support"]);
        Assert.Contains(report["CUDA available"], new[] { "yes", "no" });
        Assert.True(int.Parse(report["CPU threads (libtorch)"], System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(3L << 30, "3 GiB")]
    public void Memory_sizes_format_for_people(long bytes, string expected) => Assert.Equal(expected, ProcessMemory.Format(bytes));
}
