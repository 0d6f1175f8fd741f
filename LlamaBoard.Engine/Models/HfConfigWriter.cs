using System.Text.Json.Nodes;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Writes a <see cref="ModelConfig"/> as the config.json transformers would write for its family: the family's
/// config keys (in the preset), with values from the flags, sorted, indent 2. Keys of the original config.json
/// that the flags do not determine (token ids, quantisation notes, transformers_version, …) are kept.
/// </summary>
public static class HfConfigWriter
{
    /// <summary>The config.json text for <paramref name="config"/> saved as <paramref name="dtype"/>.</summary>
    public static string ToJson(ModelConfig config, ScalarType? dtype = null) => HfJson.Write(ToJsonObject(config, dtype));

    /// <summary>The config.json object for <paramref name="config"/> saved as <paramref name="dtype"/>.</summary>
    public static JsonObject ToJsonObject(ModelConfig config, ScalarType? dtype = null)
    {
        var family = ModelFamilies.Get(config.ModelType);
        var result = config.SourceJson is { } source ? (JsonObject)JsonNode.Parse(source)! : new JsonObject();
        // We write the transformers 4 spelling of RoPE (rope_theta + rope_scaling), which transformers 5 reads too.
        result.Remove("rope_parameters");

        void Set(string key, JsonNode? value) => result[key] = value;
        void SetIfAbsent(string key, JsonNode? value)
        {
            if (!result.ContainsKey(key)) result[key] = value;
        }

        Set("architectures", new JsonArray(family.Architecture));
        Set("model_type", family.ModelType);
        foreach (var (key, fallback) in family.Defaults)
        {
            var (known, value) = ValueOf(key, config, family);
            if (known) Set(key, value);
            else SetIfAbsent(key, fallback?.DeepClone());
        }
        if (config.HeadDim != config.HiddenSize / config.NumHeads) Set("head_dim", config.HeadDim);
        if (config.Rope.PartialRotaryFactor != 1.0) Set("partial_rotary_factor", HfJson.Number(config.Rope.PartialRotaryFactor));
        if (family.WritesLayerTypes)
            Set("layer_types", new JsonArray(config.LayerTypes
                .Select(t => (JsonNode)(t == AttentionKind.Sliding ? "sliding_attention" : "full_attention")).ToArray()));
        var savedType = dtype ?? config.DType;
        if (savedType is { } type)
        {
            Set("torch_dtype", DTypes.HfName(type));
            if (result.ContainsKey("dtype")) Set("dtype", DTypes.HfName(type));
        }
        return result;
    }

    /// <summary>The value of <paramref name="key"/> implied by the flags; Known = false where they do not decide it.</summary>
    static (bool Known, JsonNode? Value) ValueOf(string key, ModelConfig c, ModelFamily family)
    {
        bool anySliding = c.LayerTypes.Contains(AttentionKind.Sliding);
        return key switch
        {
            "vocab_size" => (true, c.VocabSize),
            "hidden_size" => (true, c.HiddenSize),
            "intermediate_size" => (true, c.IntermediateSize),
            "num_hidden_layers" => (true, c.NumLayers),
            "num_attention_heads" => (true, c.NumHeads),
            "num_key_value_heads" => (true, c.NumKvHeads),
            "head_dim" => (true, c.HeadDim),
            "max_position_embeddings" => (true, c.MaxPositionEmbeddings),
            "initializer_range" => (true, HfJson.Number(c.InitializerRange)),
            "rms_norm_eps" => (true, HfJson.Number(c.NormEps)),
            "tie_word_embeddings" => (true, c.TieWordEmbeddings),
            "rope_theta" => (true, HfJson.Number(c.Rope.Theta)),
            "rope_scaling" => (true, RopeScalingJson(c.Rope)),
            "rope_local_base_freq" => (c.LocalRope is not null, c.LocalRope is { } local ? HfJson.Number(local.Theta) : null),
            "partial_rotary_factor" => (true, HfJson.Number(c.Rope.PartialRotaryFactor)),
            "original_max_position_embeddings" => (c.Rope.Type == "longrope" && c.Rope.OriginalMaxPositionEmbeddings is not null,
                                                   c.Rope.OriginalMaxPositionEmbeddings),
            "hidden_act" or "hidden_activation" => (true, c.Activation),
            "attention_bias" => (true, c.OutputBias),
            "mlp_bias" => (true, c.MlpBias),
            "query_pre_attn_scalar" => (true, HfJson.IntegerOrNumber(1.0 / (c.AttentionScale * c.AttentionScale))),
            "attn_logit_softcapping" => (true, c.AttentionLogitSoftcap is { } a ? HfJson.Number(a) : null),
            "final_logit_softcapping" => (true, c.FinalLogitSoftcap is { } f ? HfJson.Number(f) : null),
            "sliding_window" when family.SlidingWindows == SlidingWindowRule.AllLayersWhenSet => (true, anySliding ? c.SlidingWindow : null),
            "sliding_window" => (anySliding, c.SlidingWindow),
            "use_sliding_window" => (true, anySliding),
            "max_window_layers" => (anySliding, c.LayerTypes.ToList().IndexOf(AttentionKind.Sliding)),
            "sliding_window_pattern" => PatternOf(c),
            "bos_token_id" => (c.BosTokenId is not null, c.BosTokenId),
            "eos_token_id" => (c.EosTokenIds.Count > 0,
                               c.EosTokenIds.Count == 1 ? c.EosTokenIds[0] : new JsonArray(c.EosTokenIds.Select(i => (JsonNode)i).ToArray())),
            "pad_token_id" => (c.PadTokenId is not null, c.PadTokenId),
            _ => (false, null),
        };
    }

    // Gemma 3's sliding_window_pattern N, when the layer kinds follow it (every Nth layer global).
    static (bool, JsonNode?) PatternOf(ModelConfig c)
    {
        int first = c.LayerTypes.ToList().IndexOf(AttentionKind.Full);
        if (first < 0) return (false, null);
        int n = first + 1;
        bool follows = c.LayerTypes.Select((t, i) => (t == AttentionKind.Sliding) == ((i + 1) % n != 0)).All(x => x);
        return (follows, n);
    }

    static JsonNode? RopeScalingJson(RopeSettings rope)
    {
        if (rope.Type == "default") return null;
        // Phi-3's config class (transformers 4.4x) insists on exactly type + short_factor + long_factor.
        var json = new JsonObject { [rope.Type == "longrope" ? "type" : "rope_type"] = rope.Type };
        if (rope.Type != "longrope" || rope.OriginalMaxPositionEmbeddings is null) json["factor"] = HfJson.Number(rope.Factor);
        if (rope.OriginalMaxPositionEmbeddings is { } original && rope.Type != "longrope") json["original_max_position_embeddings"] = original;
        if (rope.AttentionFactor is { } attention) json["attention_factor"] = HfJson.Number(attention);
        if (rope.BetaFast is { } fast) json["beta_fast"] = HfJson.Number(fast);
        if (rope.BetaSlow is { } slow) json["beta_slow"] = HfJson.Number(slow);
        if (rope.Mscale is { } mscale) json["mscale"] = HfJson.Number(mscale);
        if (rope.MscaleAllDim is { } all) json["mscale_all_dim"] = HfJson.Number(all);
        if (!rope.Truncate) json["truncate"] = false;
        if (rope.LowFreqFactor is { } low) json["low_freq_factor"] = HfJson.Number(low);
        if (rope.HighFreqFactor is { } high) json["high_freq_factor"] = HfJson.Number(high);
        if (rope.ShortFactor is { } shortFactor) json["short_factor"] = new JsonArray(shortFactor.Select(HfJson.Number).ToArray());
        if (rope.LongFactor is { } longFactor) json["long_factor"] = new JsonArray(longFactor.Select(HfJson.Number).ToArray());
        return json;
    }
}
