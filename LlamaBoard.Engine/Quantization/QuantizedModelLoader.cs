using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Quantization;

/// <summary>
/// Loads a Hugging Face model with the linear projections of its decoder layers quantized (QLoRA's base model).
/// Quantization happens while reading, one projection at a time: each weight is read from the memory-mapped
/// checkpoint into one reused fp32 scratch buffer, quantized, and put in place as a <see cref="QuantizedLinear"/>;
/// the full-precision projection parameters the model was created with are never written (empty tensors reserve
/// address space, not memory) and are freed unused. Peak memory is therefore the quantized weights, the
/// unquantized rest (embeddings, norms, the output head), and one projection in fp32.
/// </summary>
/// <remarks>
/// As with transformers' bitsandbytes integration, the output head (lm_head) and the embeddings stay in the compute
/// dtype: they are not decoder-layer linear layers, and quantizing the head hurts quality most.
/// </remarks>
public static class QuantizedModelLoader
{
    /// <summary>
    /// Loads <paramref name="directory"/> with its decoder projections quantized by <paramref name="settings"/>;
    /// everything else is in <paramref name="dtype"/> (which is also the dtype the quantized matmuls compute in).
    /// </summary>
    /// <exception cref="ModelLoadException">The weights do not match the config.</exception>
    public static LoadedModel Load(string directory, QuantizationSettings settings, ScalarType? dtype = null, Device? device = null) =>
        HfModelLoader.Load(directory, dtype, device, (model, checkpoint, mapper) => LoadWeights(model, checkpoint, mapper, settings));

    /// <summary>
    /// Fills <paramref name="model"/> (freshly created, parameters not yet written) from <paramref name="checkpoint"/>,
    /// replacing every decoder-layer projection with a <see cref="QuantizedLinear"/> as its weight is read.
    /// </summary>
    public static void LoadWeights(DecoderModel model, SafetensorsCheckpoint checkpoint, IWeightMapper mapper, QuantizationSettings settings)
    {
        var plan = HfModelLoader.PlanWeights(model, checkpoint, mapper);
        var byName = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        // Decoder projections by the name of their weight; lm_head stays unquantized.
        var projections = model.NamedProjections()
            .Where(p => p.Name != "lm_head" && p.Module is Linear)
            .ToDictionary(p => p.Name + ".weight", p => (p.Name, Linear: (Linear)p.Module), StringComparer.Ordinal);
        long largest = projections.Values.Select(p => p.Linear.weight!.numel()).DefaultIfEmpty(0).Max();
        using var scratch = empty(largest, dtype: ScalarType.Float32, device: model.Device);  // one projection, fp32
        using var _ = no_grad();
        foreach (var source in plan)
        {
            if (!projections.TryGetValue(source.Parameter, out var projection))
            {
                HfModelLoader.CopySource(checkpoint, source, byName[source.Parameter]);
                continue;
            }
            var original = projection.Linear.weight!;
            using var dense = scratch.narrow(0, 0, original.numel()).view(original.shape);     // (out, in) fp32
            HfModelLoader.CopySource(checkpoint, source, dense);
            var quantized = new QuantizedLinear(settings.Quantize(dense), projection.Linear.bias);
            model.ReplaceProjection(projection.Name, quantized);
            // The bias Parameter moved to the quantized layer (it may still be read later, in file order); the
            // full-precision weight was never written and is freed here.
            original.Dispose();
            NativeHeap.Trim();
        }
    }

    /// <summary>The quantized layers of <paramref name="model"/> by projection name (LoRA-wrapped ones included).</summary>
    public static IEnumerable<(string Name, QuantizedLinear Layer)> QuantizedLayers(DecoderModel model) =>
        model.named_modules().Where(m => m.module is QuantizedLinear).Select(m => (m.name, (QuantizedLinear)m.module));
}
