using LlamaBoard.Engine.Checkpoints;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Where a model parameter's values come from: rows [RowStart, RowStart + Rows) of a checkpoint tensor.</summary>
/// <param name="Parameter">The model's parameter name.</param>
/// <param name="CheckpointTensor">The checkpoint tensor name.</param>
/// <param name="CheckpointShape">The shape that tensor must have.</param>
/// <param name="RowStart">First row (dimension 0) taken.</param>
/// <param name="Rows">Rows taken; the whole tensor when equal to CheckpointShape[0].</param>
public sealed record WeightSource(string Parameter, string CheckpointTensor, long[] CheckpointShape, long RowStart, long Rows);

/// <summary>
/// Translates between checkpoint tensor names and the model's parameter names (identical for most families;
/// Phi-3 fuses q/k/v and gate/up in its checkpoints; Gemma 3 multimodal checkpoints nest the text model).
/// </summary>
public interface IWeightMapper
{
    /// <summary>
    /// For loading: where each model parameter comes from. <paramref name="available"/> answers whether the
    /// checkpoint has a tensor (so mappers can accept alternative spellings).
    /// </summary>
    IReadOnlyList<WeightSource> Sources(ModelConfig config, IReadOnlyList<(string Name, long[] Shape)> parameters,
                                        Func<string, bool> available);

    /// <summary>True for checkpoint tensors that are expected but not loaded (rotary buffers, vision towers).</summary>
    bool IsIgnored(ModelConfig config, string checkpointTensor);

    /// <summary>
    /// For saving: the checkpoint tensors, built from the model's parameters. Tensors that must be computed
    /// (fused weights) are produced one at a time while writing and disposed right after.
    /// </summary>
    IReadOnlyList<PendingTensor> Targets(ModelConfig config, IReadOnlyList<(string Name, Tensor Tensor)> parameters);
}

/// <summary>Names in the checkpoint equal parameter names; optional prefixes are accepted on load (wrappers).</summary>
public sealed class IdentityMapper : IWeightMapper
{
    readonly IReadOnlyList<(string Checkpoint, string Model)> prefixes;
    readonly IReadOnlyList<string> ignoredPrefixes;

    /// <summary>
    /// Creates the mapper. <paramref name="loadPrefixes"/> are alternative checkpoint prefixes for model prefixes
    /// (e.g. "language_model.model." for "model."), tried after the plain name; <paramref name="ignoredPrefixes"/>
    /// name checkpoint tensors to skip silently (e.g. a vision tower).
    /// </summary>
    public IdentityMapper(IReadOnlyList<(string Checkpoint, string Model)>? loadPrefixes = null,
                          IReadOnlyList<string>? ignoredPrefixes = null)
    {
        prefixes = loadPrefixes ?? [];
        this.ignoredPrefixes = ignoredPrefixes ?? [];
    }

    /// <inheritdoc/>
    public IReadOnlyList<WeightSource> Sources(ModelConfig config, IReadOnlyList<(string Name, long[] Shape)> parameters,
                                               Func<string, bool> available) =>
        parameters.Select(p => new WeightSource(p.Name, Spelling(p.Name, available), p.Shape, 0, p.Shape.Length == 0 ? 1 : p.Shape[0]))
                  .ToList();

    string Spelling(string parameter, Func<string, bool> available)
    {
        if (available(parameter)) return parameter;
        foreach (var (checkpoint, model) in prefixes)
        {
            if (!parameter.StartsWith(model, StringComparison.Ordinal)) continue;
            string candidate = checkpoint + parameter[model.Length..];
            if (available(candidate)) return candidate;
        }
        return parameter;
    }

    /// <inheritdoc/>
    public bool IsIgnored(ModelConfig config, string checkpointTensor) =>
        WeightNames.IsRotaryBuffer(checkpointTensor)
        || ignoredPrefixes.Any(p => checkpointTensor.StartsWith(p, StringComparison.Ordinal))
        // transformers ties the head to the embedding and ignores a stored copy.
        || (config.TieWordEmbeddings && WeightNames.IsLmHead(checkpointTensor));

    /// <inheritdoc/>
    public IReadOnlyList<PendingTensor> Targets(ModelConfig config, IReadOnlyList<(string Name, Tensor Tensor)> parameters) =>
        parameters.Select(p => PendingTensor.Of(p.Name, p.Tensor)).ToList();
}

/// <summary>
/// Phi-3 checkpoints store <c>self_attn.qkv_proj</c> (q, k, v rows stacked) and <c>mlp.gate_up_proj</c>
/// (gate rows, then up rows). The model keeps separate q/k/v and gate/up projections, so that LoRA adapters use
/// the PEFT names; this mapper slices on load and concatenates on save, and nothing else knows about fusion.
/// </summary>
public sealed class Phi3FusedMapper : IWeightMapper
{
    readonly IdentityMapper identity = new();

    /// <inheritdoc/>
    public IReadOnlyList<WeightSource> Sources(ModelConfig config, IReadOnlyList<(string Name, long[] Shape)> parameters,
                                               Func<string, bool> available)
    {
        long q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKvHeads * config.HeadDim;
        long inter = config.IntermediateSize, hidden = config.HiddenSize;
        var result = new List<WeightSource>();
        foreach (var (name, shape) in parameters)
        {
            var fused = Fused(name);
            if (fused is null)
            {
                result.AddRange(identity.Sources(config, [(name, shape)], available));
                continue;
            }
            var (tensor, part) = fused.Value;
            result.Add(part switch
            {
                "q_proj" => new WeightSource(name, tensor, [q + 2 * kv, hidden], 0, q),
                "k_proj" => new WeightSource(name, tensor, [q + 2 * kv, hidden], q, kv),
                "v_proj" => new WeightSource(name, tensor, [q + 2 * kv, hidden], q + kv, kv),
                "gate_proj" => new WeightSource(name, tensor, [2 * inter, hidden], 0, inter),
                _ => new WeightSource(name, tensor, [2 * inter, hidden], inter, inter),
            });
        }
        return result;
    }

    /// <summary>The fused checkpoint tensor and part for a split parameter name, or null.</summary>
    static (string Tensor, string Part)? Fused(string parameter)
    {
        foreach (string part in new[] { "q_proj", "k_proj", "v_proj" })
            if (parameter.EndsWith($".self_attn.{part}.weight", StringComparison.Ordinal))
                return (parameter[..^$"{part}.weight".Length] + "qkv_proj.weight", part);
        foreach (string part in new[] { "gate_proj", "up_proj" })
            if (parameter.EndsWith($".mlp.{part}.weight", StringComparison.Ordinal))
                return (parameter[..^$"{part}.weight".Length] + "gate_up_proj.weight", part);
        return null;
    }

    /// <inheritdoc/>
    public bool IsIgnored(ModelConfig config, string checkpointTensor) => identity.IsIgnored(config, checkpointTensor);

    /// <inheritdoc/>
    public IReadOnlyList<PendingTensor> Targets(ModelConfig config, IReadOnlyList<(string Name, Tensor Tensor)> parameters)
    {
        var byName = parameters.ToDictionary(p => p.Name, p => p.Tensor, StringComparer.Ordinal);
        var result = new List<PendingTensor>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in parameters)
        {
            if (Fused(name) is not { } fused)
            {
                result.Add(PendingTensor.Of(name, tensor));
                continue;
            }
            if (!done.Add(fused.Tensor)) continue;
            string prefix = fused.Tensor[..fused.Tensor.LastIndexOf('.', fused.Tensor.Length - ".weight".Length - 1)];
            string[] parts = fused.Tensor.EndsWith("qkv_proj.weight", StringComparison.Ordinal)
                ? ["q_proj", "k_proj", "v_proj"] : ["gate_proj", "up_proj"];
            var pieces = parts.Select(p => byName[$"{prefix}.{p}.weight"]).ToArray();
            long[] shape = [pieces.Sum(p => p.shape[0]), pieces[0].shape[1]];
            // Concatenated only when the writer reaches it, so one fused copy exists at a time.
            result.Add(new PendingTensor(fused.Tensor, shape, pieces[0].dtype, () =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                return cat(pieces.Select(p => p.detach()).ToArray(), 0).DetachFromDisposeScope();
            }, DisposeAfterWrite: true));
        }
        return result;
    }
}

/// <summary>Name patterns shared by mappers.</summary>
internal static class WeightNames
{
    /// <summary>Old Llama checkpoints saved the rotary inverse frequencies; transformers ignores them.</summary>
    public static bool IsRotaryBuffer(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>The output head's weight, under any wrapper prefix.</summary>
    public static bool IsLmHead(string name) => name == "lm_head.weight" || name.EndsWith(".lm_head.weight", StringComparison.Ordinal);
}
