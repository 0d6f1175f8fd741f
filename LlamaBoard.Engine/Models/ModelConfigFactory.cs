using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Models;

/// <summary>Sizes of a new model; everything else comes from the family's transformers defaults.</summary>
/// <param name="HiddenSize">hidden_size.</param>
/// <param name="Layers">num_hidden_layers.</param>
/// <param name="Heads">num_attention_heads.</param>
/// <param name="KvHeads">num_key_value_heads.</param>
/// <param name="IntermediateSize">intermediate_size.</param>
/// <param name="VocabSize">vocab_size.</param>
/// <param name="HeadDim">head_dim; default hidden_size / heads.</param>
public sealed record ModelShape(int HiddenSize, int Layers, int Heads, int KvHeads, int IntermediateSize, int VocabSize,
                                int? HeadDim = null);

/// <summary>Builds configs for new models (init-model, tests, benchmarks) the way transformers would write them.</summary>
public static class ModelConfigFactory
{
    /// <summary>
    /// The config.json object transformers would write for a new <paramref name="modelType"/> model of
    /// <paramref name="shape"/>: the family's defaults with the sizes set, then <paramref name="overrides"/>.
    /// </summary>
    public static JsonObject NewConfigJson(string modelType, ModelShape shape, JsonObject? overrides = null)
    {
        var family = ModelFamilies.Get(modelType);
        if (family.TextConfigKey is not null)
            throw new ArgumentException($"'{modelType}' wraps a text model; create '{family.TextModelType}' instead.", nameof(modelType));
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(family.Architecture),
            ["model_type"] = family.ModelType,
        };
        foreach (var (key, value) in family.Defaults) json[key] = value?.DeepClone();
        json["vocab_size"] = shape.VocabSize;
        json["hidden_size"] = shape.HiddenSize;
        json["intermediate_size"] = shape.IntermediateSize;
        json["num_hidden_layers"] = shape.Layers;
        json["num_attention_heads"] = shape.Heads;
        json["num_key_value_heads"] = shape.KvHeads;
        int headDim = shape.HeadDim ?? shape.HiddenSize / shape.Heads;
        if (json.ContainsKey("head_dim") || headDim != shape.HiddenSize / shape.Heads) json["head_dim"] = headDim;
        // Gemma 2/3 scale attention by query_pre_attn_scalar, which their released configs set to head_dim.
        if (family.ReadsQueryPreAttnScalar) json["query_pre_attn_scalar"] = headDim;
        if (family.Defaults.Any(d => d.Key == "max_window_layers")) json["max_window_layers"] = shape.Layers;
        // Default special token ids of a large vocabulary (Phi-3's 32000) would point past a small one, and
        // transformers rejects a padding_idx outside the embedding.
        foreach (string key in new[] { "bos_token_id", "eos_token_id", "pad_token_id" })
            if (json[key] is JsonValue id && id.TryGetValue<int>(out int value) && value >= shape.VocabSize) json[key] = null;
        foreach (var (key, value) in overrides ?? []) json[key] = value?.DeepClone();
        return json;
    }

    /// <summary>The <see cref="ModelConfig"/> of <see cref="NewConfigJson"/>.</summary>
    public static ModelConfig NewConfig(string modelType, ModelShape shape, JsonObject? overrides = null) =>
        HfConfigReader.Parse(NewConfigJson(modelType, shape, overrides), $"new {modelType} config");
}
