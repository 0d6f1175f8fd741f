using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Engine.Models;

/// <summary>Reads a Hugging Face config.json into a <see cref="ModelConfig"/> through the family preset of its model_type.</summary>
public static class HfConfigReader
{
    /// <summary>Reads <paramref name="path"/> (a config.json).</summary>
    /// <exception cref="ModelConfigException">Missing, malformed, unsupported or inconsistent; the message names the file and key.</exception>
    public static ModelConfig Read(string path) => Parse(HfJson.ReadObject(path), path);

    /// <summary>Reads a parsed config.json; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(JsonObject root, string source = "config.json")
    {
        string modelType = root["model_type"] is JsonValue v && v.TryGetValue<string>(out var type) ? type
            : throw new ModelConfigException(source, $"'{source}' has no \"model_type\"; it is not a transformers model config.");
        if (!ModelFamilies.IsSupported(modelType))
            throw new ModelConfigException(source,
                $"'{source}': model_type '{modelType}' is not supported. Supported model types: {string.Join(", ", ModelFamilies.SupportedTypes)}.");
        var family = ModelFamilies.Get(modelType);
        if (family.TextConfigKey is { } key)
        {
            // A multimodal wrapper: the architecture is the text model's; dtype and token ids may live outside.
            if (root[key] is not JsonObject inner)
                throw new ModelConfigException(source, $"'{source}': model_type '{modelType}' needs a \"{key}\" object.");
            var text = (JsonObject)inner.DeepClone();
            text["model_type"] ??= family.TextModelType;
            if (text["model_type"] is JsonValue innerType && innerType.TryGetValue<string>(out var inner2)
                && ModelFamilies.IsSupported(inner2) && ModelFamilies.Get(inner2).TextConfigKey is not null)
                throw new ModelConfigException(source, $"'{source}': \"{key}\" must describe a text model, not another '{inner2}' wrapper.");
            foreach (string shared in new[] { "torch_dtype", "dtype", "bos_token_id", "eos_token_id", "pad_token_id" })
                if (!text.ContainsKey(shared) && root[shared] is { } value) text[shared] = value.DeepClone();
            return Parse(text, source);
        }
        try
        {
            return Build(new Reader(root, family, source), family, root);
        }
        catch (ArgumentException e)
        {
            throw new ModelConfigException(source, $"'{source}': {e.Message}", e);
        }
    }

    static ModelConfig Build(Reader r, ModelFamily family, JsonObject root)
    {
        int hidden = r.Int("hidden_size");
        int heads = r.Int("num_attention_heads");
        int kvHeads = r.IntOrNull("num_key_value_heads") ?? heads;
        int headDim = r.IntOrNull("head_dim") ?? hidden / heads;
        int layers = r.Int("num_hidden_layers");
        int maxPositions = r.Int("max_position_embeddings");
        bool attentionBias = family.ReadsAttentionBias && (r.BoolOrNull("attention_bias") ?? false);
        double scale = family.ReadsQueryPreAttnScalar
            ? 1.0 / Math.Sqrt(r.Double("query_pre_attn_scalar"))
            : 1.0 / Math.Sqrt(headDim);
        var (layerTypes, window) = SlidingLayers(r, family, layers);
        var (rope, localRope) = Ropes(r, family, root, headDim, maxPositions);

        var config = new ModelConfig
        {
            ModelType = family.ModelType,
            VocabSize = r.Int("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size"),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            MaxPositionEmbeddings = maxPositions,
            TieWordEmbeddings = r.BoolOrNull("tie_word_embeddings") ?? false,
            ScaleEmbeddings = family.ScaleEmbeddings,
            FinalLogitSoftcap = family.ReadsSoftcapping ? r.DoubleOrNull("final_logit_softcapping") : null,
            NormEps = r.Double("rms_norm_eps"),
            NormUnitOffset = family.NormUnitOffset,
            QkNorm = family.QkNorm,
            SandwichNorms = family.SandwichNorms,
            QkvBias = family.QkvBias || attentionBias,
            OutputBias = attentionBias,
            AttentionScale = scale,
            AttentionLogitSoftcap = family.ReadsSoftcapping ? r.DoubleOrNull("attn_logit_softcapping") : null,
            SlidingWindow = window,
            LayerTypes = layerTypes,
            Activation = family.ActivationKeys.Select(r.StringOrNull).FirstOrDefault(a => a is not null)
                         ?? family.ActivationKeys.Select(k => family.DefaultOf(k)?.GetValue<string>()).FirstOrDefault(a => a is not null)
                         ?? "silu",
            MlpBias = family.ReadsMlpBias && (r.BoolOrNull("mlp_bias") ?? false),
            Rope = rope,
            LocalRope = localRope,
            DType = DTypes.TryParse(r.StringOrNull("torch_dtype") ?? r.StringOrNull("dtype")),
            BosTokenId = r.IntOrNull("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            PadTokenId = r.IntOrNull("pad_token_id"),
            InitializerRange = r.DoubleOrNull("initializer_range") ?? 0.02,
            SourceJson = root.ToJsonString(),
        };
        config.Validate();
        return config;
    }

    static (IReadOnlyList<AttentionKind>, int?) SlidingLayers(Reader r, ModelFamily family, int layers)
    {
        int? window = r.IntOrNull("sliding_window");
        if (r.Node("layer_types") is JsonArray listed)
        {
            var kinds = listed.Select((node, i) => node?.GetValue<string>() switch
            {
                "full_attention" => AttentionKind.Full,
                "sliding_attention" => AttentionKind.Sliding,
                var other => throw new ArgumentException($"layer_types[{i}] is '{other}'; supported: full_attention, sliding_attention."),
            }).ToList();
            return (kinds, kinds.Contains(AttentionKind.Sliding) ? window : null);
        }
        Func<int, bool> sliding = family.SlidingWindows switch
        {
            SlidingWindowRule.AllLayersWhenSet => _ => window is not null,
            SlidingWindowRule.FromMaxWindowLayers when (r.BoolOrNull("use_sliding_window") ?? false) && window is not null =>
                i => i >= r.Int("max_window_layers"),
            SlidingWindowRule.Pattern when window is not null =>
                i => (i + 1) % (r.IntOrNull("sliding_window_pattern") ?? r.IntOrNull("_sliding_window_pattern") ?? family.SlidingPattern) != 0,
            _ => _ => false,
        };
        var types = Enumerable.Range(0, layers).Select(i => sliding(i) ? AttentionKind.Sliding : AttentionKind.Full).ToList();
        return (types, types.Contains(AttentionKind.Sliding) ? window : null);
    }

    static (RopeSettings Global, RopeSettings? Local) Ropes(Reader r, ModelFamily family, JsonObject root, int headDim, int maxPositions)
    {
        double partial = r.DoubleOrNull("partial_rotary_factor") ?? 1.0;
        int dim = (int)(headDim * partial);
        int? configOriginal = family.ReadsPartialRotary ? r.IntOrNull("original_max_position_embeddings") : null;
        // transformers 5 writes rope_parameters (flat, or per layer type); earlier versions rope_theta + rope_scaling.
        var parameters = root["rope_parameters"] as JsonObject;
        var globalParameters = parameters?["full_attention"] as JsonObject ?? parameters;
        var localParameters = parameters?["sliding_attention"] as JsonObject;
        var scaling = root["rope_scaling"] as JsonObject ?? globalParameters;
        double theta = globalParameters?["rope_theta"] is { } t ? Reader.Number(t) : r.Double("rope_theta");
        var global = Rope(scaling, theta, dim, partial, maxPositions, configOriginal);

        RopeSettings? local = null;
        if (family.LocalRopeBase)
        {
            double localTheta = localParameters?["rope_theta"] is { } lt ? Reader.Number(lt) : r.Double("rope_local_base_freq");
            local = Rope(localParameters, localTheta, dim, partial, maxPositions, null);
        }
        return (global, local);
    }

    static RopeSettings Rope(JsonObject? scaling, double theta, int dim, double partial, int maxPositions, int? configOriginal)
    {
        var s = new Reader(scaling ?? [], null, "rope_scaling");
        string type = s.StringOrNull("rope_type") ?? s.StringOrNull("type") ?? "default";
        if (type == "su") type = "longrope"; // Phi-3's original name for LongRoPE
        int? original = s.IntOrNull("original_max_position_embeddings") ?? (type == "longrope" ? configOriginal : null);
        return new RopeSettings
        {
            Type = type,
            Theta = theta,
            Dim = dim,
            PartialRotaryFactor = partial,
            MaxPositionEmbeddings = maxPositions,
            Factor = s.DoubleOrNull("factor") ?? 1.0,
            OriginalMaxPositionEmbeddings = original,
            AttentionFactor = s.DoubleOrNull("attention_factor"),
            BetaFast = s.DoubleOrNull("beta_fast"),
            BetaSlow = s.DoubleOrNull("beta_slow"),
            Mscale = s.DoubleOrNull("mscale"),
            MscaleAllDim = s.DoubleOrNull("mscale_all_dim"),
            Truncate = s.BoolOrNull("truncate") ?? true,
            LowFreqFactor = s.DoubleOrNull("low_freq_factor"),
            HighFreqFactor = s.DoubleOrNull("high_freq_factor"),
            ShortFactor = s.DoubleList("short_factor"),
            LongFactor = s.DoubleList("long_factor"),
        };
    }

    /// <summary>Typed access to config keys, falling back to the family's transformers defaults; errors name the key.</summary>
    sealed class Reader(JsonObject root, ModelFamily? family, string source)
    {
        // A key written as null means None, as in transformers; only an absent key takes the class default.
        public JsonNode? Node(string key) => root.TryGetPropertyValue(key, out var node) ? node : family?.DefaultOf(key);

        T? Value<T>(string key) where T : struct
        {
            var node = Node(key);
            if (node is null) return null;
            try
            {
                if (typeof(T) == typeof(bool)) return node.GetValue<T>();
                double d = Number(node);
                if (typeof(T) == typeof(double)) return (T)(object)d;
                if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue) throw new FormatException();
                return (T)(object)(int)d;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ArgumentException($"\"{key}\" should be {(typeof(T) == typeof(int) ? "an integer" : typeof(T) == typeof(bool) ? "true or false" : "a number")}, got {node.ToJsonString()} (in {source}).");
            }
        }

        /// <summary>A JSON number node's value (in-memory nodes keep their CLR type, so go through the text).</summary>
        public static double Number(JsonNode node) =>
            node.GetValueKind() == JsonValueKind.Number
                ? double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
                : throw new FormatException();

        public int? IntOrNull(string key) => Value<int>(key);
        public double? DoubleOrNull(string key) => Value<double>(key);
        public bool? BoolOrNull(string key) => Value<bool>(key);
        public int Int(string key) => IntOrNull(key) ?? throw new ArgumentException($"\"{key}\" is missing.");
        public double Double(string key) => DoubleOrNull(key) ?? throw new ArgumentException($"\"{key}\" is missing.");

        public string? StringOrNull(string key) =>
            Node(key) switch
            {
                null => null,
                JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
                var other => throw new ArgumentException($"\"{key}\" should be a string, got {other.ToJsonString()} (in {source})."),
            };

        public IReadOnlyList<int> IntList(string key) => Node(key) switch
        {
            null => [],
            JsonArray array => array.Select((n, i) => n?.GetValueKind() == JsonValueKind.Number ? (int)Number(n)
                : throw new ArgumentException($"\"{key}\"[{i}] should be an integer (in {source}).")).ToList(),
            _ => [Int(key)],
        };

        public IReadOnlyList<double>? DoubleList(string key) => Node(key) switch
        {
            null => null,
            JsonArray array => array.Select((n, i) => n?.GetValueKind() == JsonValueKind.Number ? Number(n)
                : throw new ArgumentException($"\"{key}\"[{i}] should be a number (in {source}).")).ToList(),
            var other => throw new ArgumentException($"\"{key}\" should be a list of numbers, got {other.ToJsonString()} (in {source})."),
        };
    }
}
