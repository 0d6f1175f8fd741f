using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// F16, BF16, Q8_0 and Q4_0 exports load in llama.cpp and compute what their stored weights imply. The reference is
/// the engine run on the weights as the file stores them (rounded or quantized and dequantized by
/// <see cref="GgmlReference"/>), so the comparison checks the encoding llama.cpp reads; what remains is llama.cpp
/// converting activations to the weights' type for its matrix products (fp16, bf16 or 8-bit blocks), which the
/// tolerances allow for (observed: F16 ≤ 2e-3, BF16 ≤ 1e-2, Q8_0 ≤ 3.2e-2, Q4_0 ≤ 4.7e-2 relative).
/// </summary>
public class GgufTypesTests(ITestOutputHelper output)
{
    /// <summary>
    /// Every type on phi3 (fused qkv and gate/up, 32k vocabulary), and each type once more on another convention:
    /// llama (permuted q/k, rope_freqs), qwen3 (q/k norms), gemma2 ((1 + w) norms, soft-caps).
    /// </summary>
    public static TheoryData<string, GgmlType> Cases() => new()
    {
        { "phi3", GgmlType.F16 }, { "phi3", GgmlType.BF16 }, { "phi3", GgmlType.Q8_0 }, { "phi3", GgmlType.Q4_0 },
        { "llama", GgmlType.F16 }, { "llama", GgmlType.Q4_0 },
        { "qwen3", GgmlType.BF16 }, { "gemma2", GgmlType.Q8_0 },
    };

    static double Tolerance(GgmlType type) => type switch
    {
        GgmlType.F16 => 5e-3,
        GgmlType.BF16 => 3e-2,
        GgmlType.Q8_0 => 8e-2,
        _ => 1e-1,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_export_loads_in_llama_cpp_and_computes_what_its_stored_weights_imply(string family, GgmlType type)
    {
        Torch.EnsureReady();
        var export = GgufModels.Export(family, type);
        var file = GgufReader.Read(export.GgufPath);
        Assert.Equal(GgmlTypes.FileType(type), file.Metadata["general.file_type"]);
        foreach (var (name, dims, stored, _) in file.Tensors)
            Assert.True(stored == (dims.Length == 1 ? GgmlType.F32 : type), $"{name} is stored as {stored}.");

        var prompt = GgufModels.Prompt(family);
        var expected = StoredWeightLogits(family, type, prompt);
        using var llama = LlamaCpp.Load(export.GgufPath);
        var actual = llama.Logits(prompt);
        var (worst, relative) = GgufLlamaCppTests.Compare(expected, actual);
        int agree = Enumerable.Range(0, prompt.Count).Count(t => LlamaCpp.ArgMax(expected[t]) == LlamaCpp.ArgMax(actual[t]));
        output.WriteLine($"{family} {type}: max |diff| {worst:G3}, relative {relative:G3}, same top token at {agree}/{prompt.Count} positions");
        Assert.True(relative <= Tolerance(type), $"{family} {type}: logits differ by {relative:G3} relative (tolerance {Tolerance(type)}).");
        Assert.True(agree >= prompt.Count * 0.8, $"{family} {type}: the top token agrees at only {agree} of {prompt.Count} positions.");
    }

    /// <summary>The engine's logits with every matrix replaced by the values a <paramref name="type"/> file stores.</summary>
    static float[][] StoredWeightLogits(string family, GgmlType type, IReadOnlyList<int> prompt)
    {
        using var loaded = HfModelLoader.Load(GgufModels.Folder(family), ScalarType.Float32, CPU);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (_, p) in loaded.Model.NamedParameters())
                if (p.dim() == 2)
                    p.copy_(tensor(GgmlReference.RoundTrip(p.data<float>().ToArray(), type)).reshape(p.shape));
        }
        var logits = loaded.Model.Forward(tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0))[0];   // (T, vocab)
        return Enumerable.Range(0, prompt.Count).Select(t => logits[t].data<float>().ToArray()).ToArray();
    }
}
