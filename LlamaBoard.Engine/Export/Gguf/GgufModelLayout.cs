using System.Text.RegularExpressions;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>
/// The model part of a GGUF file for llama.cpp: hyper-parameter keys (<c>{arch}.embedding_length</c>, …) and the
/// tensors under llama.cpp's names (<c>token_embd</c>, <c>blk.N.attn_q</c>, …), converted the way llama.cpp's
/// converter does: q/k rows permuted for adjacent-pair RoPE (llama), norm weights stored as 1 + w (Gemma), fused
/// attn_qkv and gate-then-up ffn_up (Phi-3), no <c>output</c> tensor when the head is tied to the embedding.
/// </summary>
public static partial class GgufModelLayout
{
    /// <summary>Adds the architecture and hyper-parameter keys of <paramref name="config"/> to <paramref name="metadata"/>.</summary>
    public static void AddHyperparameters(GgufMetadata metadata, ModelConfig config, GgufArchitecture architecture)
    {
        string a = architecture.Name;
        var rope = config.Rope;
        metadata.Set($"{a}.vocab_size", GgufValue.UInt32((uint)config.VocabSize));
        metadata.Set($"{a}.context_length", GgufValue.UInt32((uint)config.MaxPositionEmbeddings));
        metadata.Set($"{a}.embedding_length", GgufValue.UInt32((uint)config.HiddenSize));
        metadata.Set($"{a}.block_count", GgufValue.UInt32((uint)config.NumLayers));
        metadata.Set($"{a}.feed_forward_length", GgufValue.UInt32((uint)config.IntermediateSize));
        metadata.Set($"{a}.attention.head_count", GgufValue.UInt32((uint)config.NumHeads));
        metadata.Set($"{a}.attention.head_count_kv", GgufValue.UInt32((uint)config.NumKvHeads));
        metadata.Set($"{a}.attention.key_length", GgufValue.UInt32((uint)config.HeadDim));
        metadata.Set($"{a}.attention.value_length", GgufValue.UInt32((uint)config.HeadDim));
        metadata.Set($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Float32((float)config.NormEps));
        metadata.Set($"{a}.rope.freq_base", GgufValue.Float32((float)rope.Theta));
        metadata.Set($"{a}.rope.dimension_count", GgufValue.UInt32((uint)rope.Dim));

        switch (rope.Type)
        {
            case "linear":
                metadata.Set($"{a}.rope.scaling.type", GgufValue.String("linear"));
                metadata.Set($"{a}.rope.scaling.factor", GgufValue.Float32((float)rope.Factor));
                break;
            case "yarn":
                // As the engine (and transformers): an explicit original length makes the factor max/original.
                int trained = rope.OriginalMaxPositionEmbeddings ?? rope.MaxPositionEmbeddings;
                double factor = rope.OriginalMaxPositionEmbeddings is { } o ? (double)rope.MaxPositionEmbeddings / o : rope.Factor;
                metadata.Set($"{a}.rope.scaling.type", GgufValue.String("yarn"));
                metadata.Set($"{a}.rope.scaling.factor", GgufValue.Float32((float)factor));
                metadata.Set($"{a}.rope.scaling.original_context_length", GgufValue.UInt32((uint)trained));
                if (rope.BetaFast is { } fast && fast != 0) metadata.Set($"{a}.rope.scaling.yarn_beta_fast", GgufValue.Float32((float)fast));
                if (rope.BetaSlow is { } slow && slow != 0) metadata.Set($"{a}.rope.scaling.yarn_beta_slow", GgufValue.Float32((float)slow));
                break;
            case "longrope":
                double longFactor = rope.OriginalMaxPositionEmbeddings is { } original
                    ? (double)rope.MaxPositionEmbeddings / original : rope.Factor;
                double attention = rope.AttentionFactor ?? (longFactor <= 1 ? 1.0
                    : Math.Sqrt(1 + Math.Log(longFactor) / Math.Log(rope.OriginalMaxPositionEmbeddings ?? rope.MaxPositionEmbeddings)));
                metadata.Set($"{a}.rope.scaling.attn_factor", GgufValue.Float32((float)attention));
                metadata.Set($"{a}.rope.scaling.original_context_length",
                             GgufValue.UInt32((uint)(rope.OriginalMaxPositionEmbeddings ?? rope.MaxPositionEmbeddings)));
                break;
        }

        if (config.LayerTypes.Contains(AttentionKind.Sliding) && architecture.SlidingWindow != GgufSlidingWindow.Unsupported)
            metadata.Set($"{a}.attention.sliding_window", GgufValue.UInt32((uint)config.SlidingWindow!.Value));
        if (architecture.SlidingWindow == GgufSlidingWindow.PatternKey && GgufCompatibility.SlidingPattern(config) is { } pattern)
            metadata.Set($"{a}.attention.sliding_window_pattern", GgufValue.UInt32((uint)pattern));
        if (architecture.LocalRopeBase)
            metadata.Set($"{a}.rope.freq_base_swa", GgufValue.Float32((float)(config.LocalRope?.Theta ?? rope.Theta)));
        if (config.AttentionLogitSoftcap is { } attnCap)
            metadata.Set($"{a}.attn_logit_softcapping", GgufValue.Float32((float)attnCap));
        if (config.FinalLogitSoftcap is { } finalCap)
            metadata.Set($"{a}.final_logit_softcapping", GgufValue.Float32((float)finalCap));
    }

    /// <summary>
    /// The tensors of <paramref name="model"/> (plain: no adapters) under llama.cpp's names. Matrices get
    /// <paramref name="type"/>, or F16 when a quantized type's 32-value blocks do not divide their rows; vectors
    /// (norms, biases, RoPE factors) stay F32, as llama.cpp's converter keeps them.
    /// </summary>
    public static IReadOnlyList<GgufTensor> Tensors(DecoderModel model, GgufArchitecture architecture, GgmlType type,
                                                    ICollection<string>? notes = null)
    {
        var config = model.Config;
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => (Tensor)p.Parameter, StringComparer.Ordinal);
        var result = new List<GgufTensor>();

        void Add(string name, long[] shape, Func<Tensor> produce, bool temporary)
        {
            var chosen = shape.Length < 2 ? GgmlType.F32 : type;
            if (GgmlTypes.IsQuantized(chosen) && shape[^1] % GgmlTypes.BlockSize(chosen) != 0)
            {
                notes?.Add($"{name}: rows of {shape[^1]} values are not a multiple of {GgmlTypes.BlockSize(chosen)}, so it is stored as F16.");
                chosen = GgmlType.F16;
            }
            result.Add(new GgufTensor(name, shape, chosen, produce, temporary));
        }
        void Direct(string gguf, string hf) => Add(gguf, parameters[hf].shape, () => parameters[hf], false);
        void Computed(string gguf, long[] shape, Func<Tensor> produce) => Add(gguf, shape, produce, true);

        foreach (var (name, shape, values) in RopeFactorTensors(config))
            Computed(name, shape, () => tensor(values));

        Direct("token_embd.weight", "model.embed_tokens.weight");
        var handled = new HashSet<string>(StringComparer.Ordinal) { "model.embed_tokens.weight" };
        for (int i = 0; i < config.NumLayers; i++)
        {
            string hf = $"model.layers.{i}.";
            string blk = $"blk.{i}.";
            if (architecture.FusesProjections)
            {
                string[] qkv = [$"{hf}self_attn.q_proj.weight", $"{hf}self_attn.k_proj.weight", $"{hf}self_attn.v_proj.weight"];
                string[] gateUp = [$"{hf}mlp.gate_proj.weight", $"{hf}mlp.up_proj.weight"];
                Computed($"{blk}attn_qkv.weight", Stacked(parameters, qkv), () => Concatenate(parameters, qkv));
                Computed($"{blk}ffn_up.weight", Stacked(parameters, gateUp), () => Concatenate(parameters, gateUp));
                handled.UnionWith(qkv);
                handled.UnionWith(gateUp);
            }
            foreach (var (hfName, parameter) in parameters.Where(p => p.Key.StartsWith(hf, StringComparison.Ordinal)))
            {
                if (handled.Contains(hfName)) continue;
                string local = hfName[hf.Length..];
                string gguf = blk + LayerTensorName(local, config);
                if (architecture.RopeLayout == GgufRopeLayout.AdjacentPairs && IsQueryOrKey(local, out bool isQuery))
                {
                    int heads = isQuery ? config.NumHeads : config.NumKvHeads;
                    Computed(gguf, parameter.shape, () => PermuteForAdjacentPairs(parameter, heads));
                }
                else if (architecture.BakesNormOffset && local.EndsWith("norm.weight", StringComparison.Ordinal))
                    Computed(gguf, parameter.shape, () => PlusOne(parameter));
                else
                    Direct(gguf, hfName);
                handled.Add(hfName);
            }
        }
        if (architecture.BakesNormOffset) Computed("output_norm.weight", parameters["model.norm.weight"].shape, () => PlusOne(parameters["model.norm.weight"]));
        else Direct("output_norm.weight", "model.norm.weight");
        handled.Add("model.norm.weight");
        if (parameters.ContainsKey("lm_head.weight"))
        {
            Direct("output.weight", "lm_head.weight");
            handled.Add("lm_head.weight");
        }

        var left = parameters.Keys.Where(n => !handled.Contains(n)).ToList();
        if (left.Count > 0)
            throw new GgufExportException($"These parameters have no GGUF name: {string.Join(", ", left.Take(8))}. " +
                                          "Merge or remove adapters before exporting.");
        return result;
    }

    /// <summary>llama.cpp's name for a layer tensor, from its HF name inside <c>model.layers.N.</c>.</summary>
    static string LayerTensorName(string local, ModelConfig config)
    {
        var match = LocalName().Match(local);
        if (!match.Success) throw new GgufExportException($"Layer parameter '{local}' has no GGUF name.");
        string module = match.Groups[1].Value, kind = match.Groups[2].Value;
        string name = module switch
        {
            "input_layernorm" => "attn_norm",
            // HF reuses the name: the MLP's pre-norm in the Llama layout, the post-attention norm in Gemma 2/3's.
            "post_attention_layernorm" => config.SandwichNorms ? "post_attention_norm" : "ffn_norm",
            "pre_feedforward_layernorm" => "ffn_norm",
            "post_feedforward_layernorm" => "post_ffw_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "self_attn.q_norm" => "attn_q_norm",
            "self_attn.k_norm" => "attn_k_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            _ => throw new GgufExportException($"Layer parameter '{local}' has no GGUF name."),
        };
        return $"{name}.{kind}";
    }

    [GeneratedRegex(@"^(.+)\.(weight|bias)$")]
    private static partial Regex LocalName();

    static bool IsQueryOrKey(string local, out bool isQuery)
    {
        isQuery = local.StartsWith("self_attn.q_proj.", StringComparison.Ordinal);
        return isQuery || local.StartsWith("self_attn.k_proj.", StringComparison.Ordinal);
    }

    /// <summary>
    /// Reorders each head's rows from HF's halves layout (i paired with i + d/2) to adjacent pairs (2i, 2i + 1), as
    /// llama.cpp's converter does for llama: rows (heads · d, …) → view (heads, 2, d/2, …) → swap 1 and 2.
    /// </summary>
    internal static Tensor PermuteForAdjacentPairs(Tensor weight, int heads)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long rows = weight.shape[0];
        long[] rest = weight.shape.Skip(1).ToArray();
        var view = weight.detach().reshape([heads, 2, rows / heads / 2, .. rest]);            // (h, 2, d/2, …)
        return view.transpose(1, 2).reshape(weight.shape).contiguous().DetachFromDisposeScope();  // the writer disposes it
    }

    static Tensor PlusOne(Tensor weight)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return (weight.detach().to(ScalarType.Float32) + 1).DetachFromDisposeScope();   // the writer disposes it
    }

    static long[] Stacked(Dictionary<string, Tensor> parameters, string[] names) =>
        [names.Sum(n => parameters[n].shape[0]), parameters[names[0]].shape[1]];

    static Tensor Concatenate(Dictionary<string, Tensor> parameters, string[] names)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return cat(names.Select(n => parameters[n].detach()).ToArray(), 0).DetachFromDisposeScope();   // (Σ rows, in); the writer disposes it
    }

    /// <summary>
    /// RoPE frequency-factor tensors: Llama 3 scaling becomes <c>rope_freqs</c> (llama.cpp divides each frequency by
    /// its factor), LongRoPE its short and long factor lists.
    /// </summary>
    static IEnumerable<(string Name, long[] Shape, float[] Values)> RopeFactorTensors(ModelConfig config)
    {
        var rope = config.Rope;
        if (rope.Type == "llama3")
        {
            var plain = RopeScaling.Compute(rope with { Type = "default" }).InverseFrequencies;
            var scaled = RopeScaling.Compute(rope).InverseFrequencies;
            yield return ("rope_freqs.weight", [plain.Length], plain.Select((f, i) => (float)(f / scaled[i])).ToArray());
        }
        else if (rope.Type == "longrope")
        {
            var longFactors = rope.LongFactor!.Select(f => (float)f).ToArray();
            var shortFactors = rope.ShortFactor!.Select(f => (float)f).ToArray();
            yield return ("rope_factors_long.weight", [longFactors.Length], longFactors);
            yield return ("rope_factors_short.weight", [shortFactors.Length], shortFactors);
        }
    }
}
