using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// A model folder's <c>generation_config.json</c>: default decoding settings and the special token ids used to
/// stop. Unknown keys are kept for saving.
/// </summary>
public sealed record GenerationConfig
{
    /// <summary>File name in a model folder.</summary>
    public const string FileName = "generation_config.json";

    /// <summary>bos_token_id.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>eos_token_id (one or several ids end generation).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>pad_token_id.</summary>
    public int? PadTokenId { get; init; }
    /// <summary>do_sample.</summary>
    public bool? DoSample { get; init; }
    /// <summary>temperature.</summary>
    public double? Temperature { get; init; }
    /// <summary>top_p.</summary>
    public double? TopP { get; init; }
    /// <summary>top_k.</summary>
    public int? TopK { get; init; }
    /// <summary>repetition_penalty.</summary>
    public double? RepetitionPenalty { get; init; }
    /// <summary>max_new_tokens.</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>max_length.</summary>
    public int? MaxLength { get; init; }
    /// <summary>The file's JSON text, when read from a file.</summary>
    public string? SourceJson { get; init; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="ModelConfigException">Invalid JSON or wrongly typed values; the message names the file.</exception>
    public static GenerationConfig Read(string path)
    {
        var root = HfJson.ReadObject(path);
        try
        {
            return new GenerationConfig
            {
                BosTokenId = Int(root, "bos_token_id"),
                EosTokenIds = root["eos_token_id"] switch
                {
                    null => [],
                    JsonArray array => array.Select(n => (int)Number(n!)).ToList(),
                    var single => [(int)Number(single)],
                },
                PadTokenId = Int(root, "pad_token_id"),
                DoSample = root["do_sample"]?.GetValue<bool>(),
                Temperature = root["temperature"] is { } t ? Number(t) : null,
                TopP = root["top_p"] is { } p ? Number(p) : null,
                TopK = Int(root, "top_k"),
                RepetitionPenalty = root["repetition_penalty"] is { } r ? Number(r) : null,
                MaxNewTokens = Int(root, "max_new_tokens"),
                MaxLength = Int(root, "max_length"),
                SourceJson = root.ToJsonString(),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new ModelConfigException(path, $"'{path}': a value has the wrong type ({e.Message}).", e);
        }
    }

    static double Number(JsonNode node) =>
        node.GetValueKind() == JsonValueKind.Number
            ? double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
            : throw new FormatException($"{node.ToJsonString()} is not a number");

    static int? Int(JsonObject root, string key) => root[key] is { } node ? (int)Number(node) : null;

    /// <summary>What transformers derives from a model config when a folder has no generation_config.json.</summary>
    public static GenerationConfig FromModelConfig(ModelConfig config) => new()
    {
        BosTokenId = config.BosTokenId,
        EosTokenIds = config.EosTokenIds,
        PadTokenId = config.PadTokenId,
        SourceJson = new JsonObject { ["_from_model_config"] = true }.ToJsonString(),
    };

    /// <summary>The file content: the original keys with the typed values written over them, sorted, indent 2.</summary>
    public string ToJson()
    {
        var json = SourceJson is { } source ? (JsonObject)JsonNode.Parse(source)! : new JsonObject();
        void Put(string key, JsonNode? value)
        {
            if (value is null) json.Remove(key);
            else json[key] = value;
        }
        Put("bos_token_id", BosTokenId);
        Put("eos_token_id", EosTokenIds.Count switch
        {
            0 => null,
            1 => EosTokenIds[0],
            _ => new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray()),
        });
        Put("pad_token_id", PadTokenId);
        Put("do_sample", DoSample);
        Put("temperature", Temperature is { } t ? HfJson.Number(t) : null);
        Put("top_p", TopP is { } p ? HfJson.Number(p) : null);
        Put("top_k", TopK);
        Put("repetition_penalty", RepetitionPenalty is { } r ? HfJson.Number(r) : null);
        Put("max_new_tokens", MaxNewTokens);
        Put("max_length", MaxLength);
        return HfJson.Write(json);
    }
}
