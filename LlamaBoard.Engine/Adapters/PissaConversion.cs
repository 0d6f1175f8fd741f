using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// Turns a trained PiSSA adapter into a plain LoRA adapter for the original base weights (PEFT's
/// <c>path_initial_model_for_weight_conversion</c>, LLaMA-Factory's <c>pissa_convert</c>).
/// </summary>
/// <remarks>
/// PiSSA trains on the residual W_res = W − s·B₀A₀ with adapter (A, B), so the tuned weight is W_res + s·BA =
/// W + s·(BA − B₀A₀) = W + s·[B | −B₀]·[A ; A₀]. That is a LoRA of rank 2r on the untouched base; alpha is doubled
/// (×√2 with rsLoRA) so the scaling stays s.
/// </remarks>
public static class PissaConversion
{
    /// <summary>The init_lora_weights value PEFT uses for PiSSA with <paramref name="iterations"/> power iterations.</summary>
    public static JsonNode InitValue(int iterations) => iterations > 0 ? JsonValue.Create($"pissa_niter_{iterations}") : JsonValue.Create("pissa");

    /// <summary>Power iterations encoded in init_lora_weights ("pissa" = exact SVD = 0), or null when it is not PiSSA.</summary>
    public static int? IterationsOf(JsonNode? initLoraWeights)
    {
        if (initLoraWeights is not JsonValue value || !value.TryGetValue<string>(out string? text)) return null;
        if (text == "pissa") return 0;
        const string Marker = "pissa_niter_";
        return text.StartsWith(Marker, StringComparison.Ordinal) && int.TryParse(text.AsSpan(Marker.Length), out int n) ? n : null;
    }

    /// <summary>
    /// The rank-2r LoRA equal to (trained − initial) PiSSA updates. Tensors are under PEFT's names; both sets must
    /// hold the same keys.
    /// </summary>
    public static (PeftAdapterConfig Config, List<(string Name, Tensor Tensor)> Tensors) Convert(
        PeftAdapterConfig trained, IReadOnlyList<(string Name, Tensor Tensor)> trainedTensors,
        IReadOnlyDictionary<string, Tensor> initialTensors)
    {
        var converted = new List<(string, Tensor)>();
        foreach (var (name, tensor) in trainedTensors)
        {
            if (!initialTensors.TryGetValue(name, out var initial))
                throw new InvalidDataException($"PiSSA conversion: the initial adapter has no tensor '{name}'.");
            if (name.EndsWith(".lora_A.weight", StringComparison.Ordinal))
                converted.Add((name, cat([tensor, initial], dim: 0)));          // (2r, in)
            else if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal))
                converted.Add((name, cat([tensor, -initial], dim: 1)));         // (out, 2r)
            else
                converted.Add((name, tensor));                                  // modules_to_save stay as trained
        }
        var config = trained with
        {
            Rank = trained.Rank * 2,
            Alpha = trained.UseRsLora ? trained.Alpha * Math.Sqrt(2) : trained.Alpha * 2,
            InitLoraWeights = JsonValue.Create(true),
        };
        return (config, converted);
    }
}
