using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for a LoRA adapter: the fields PEFT's <c>LoraConfig</c> writes, with its
/// defaults, so adapters saved here load in HF PEFT and PEFT adapters load here.
/// </summary>
public sealed record PeftAdapterConfig
{
    /// <summary>The file name inside an adapter folder.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>r.</summary>
    public int Rank { get; init; } = 8;
    /// <summary>lora_alpha.</summary>
    public double Alpha { get; init; } = 8;
    /// <summary>lora_dropout.</summary>
    public double Dropout { get; init; }
    /// <summary>target_modules: short module names (q_proj, …) or full dotted names.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = [];
    /// <summary>modules_to_save: modules trained in full and stored with the adapter (embed_tokens, lm_head).</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = [];
    /// <summary>use_rslora.</summary>
    public bool UseRsLora { get; init; }
    /// <summary>use_dora.</summary>
    public bool UseDora { get; init; }
    /// <summary>base_model_name_or_path.</summary>
    public string? BaseModelNameOrPath { get; init; }
    /// <summary>init_lora_weights as written (true, "pissa", "pissa_niter_16", …).</summary>
    public JsonNode? InitLoraWeights { get; init; } = JsonValue.Create(true);
    /// <summary>layers_to_transform, when the adapter covers only some layers.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>The per-layer settings this config describes.</summary>
    public LoraSettings Settings => new(Rank, Alpha, Dropout, UseRsLora, UseDora);

    /// <summary>Reads <c>adapter_config.json</c> from <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidDataException">Missing file, bad JSON, or not a LoRA adapter; the message names the file.</exception>
    public static PeftAdapterConfig Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found; an adapter folder needs {FileName} and adapter_model.safetensors (PEFT's layout).");
        JsonObject json;
        try
        {
            // Duplicated keys are refused here: JsonNode would otherwise throw an ArgumentException on first access.
            json = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })?.AsObject()
                   ?? throw new InvalidDataException($"{path}: empty file.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).");
        }
        try
        {
            string peftType = json["peft_type"]?.GetValue<string>() ?? "LORA";
            if (!string.Equals(peftType, "LORA", StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{path}: peft_type {peftType} is not supported; LlamaBoard loads LoRA (and DoRA) adapters.");
            return new PeftAdapterConfig
            {
                Rank = json["r"]?.GetValue<int>() ?? 8,
                Alpha = json["lora_alpha"]?.GetValue<double>() ?? 8,
                Dropout = json["lora_dropout"]?.GetValue<double>() ?? 0,
                TargetModules = Names(json["target_modules"]),
                ModulesToSave = Names(json["modules_to_save"]),
                UseRsLora = json["use_rslora"]?.GetValue<bool>() ?? false,
                UseDora = json["use_dora"]?.GetValue<bool>() ?? false,
                BaseModelNameOrPath = json["base_model_name_or_path"]?.GetValue<string>(),
                InitLoraWeights = json["init_lora_weights"]?.DeepClone(),
                LayersToTransform = json["layers_to_transform"] switch
                {
                    JsonArray list => list.Select(n => NotNull(n).GetValue<int>()).ToList(),
                    JsonValue one when one.TryGetValue<int>(out int layer) => [layer],
                    _ => null,
                },
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: a field has the wrong type ({e.Message}).");
        }
    }

    static JsonNode NotNull(JsonNode? item) => item ?? throw new FormatException("a list holds null");

    static IReadOnlyList<string> Names(JsonNode? node) => node switch
    {
        null => [],
        JsonArray list => list.Select(n => NotNull(n).GetValue<string>()).ToList(),
        // A single string is a regular expression in PEFT, or the "all-linear" shorthand; keep it as one entry.
        JsonValue value => [value.GetValue<string>()],
        _ => [],
    };

    /// <summary>The JSON PEFT would write for this adapter.</summary>
    public JsonObject ToJson() => new()
    {
        ["alpha_pattern"] = new JsonObject(),
        ["auto_mapping"] = null,
        ["base_model_name_or_path"] = BaseModelNameOrPath,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = InitLoraWeights?.DeepClone() ?? JsonValue.Create(true),
        ["layer_replication"] = null,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = LayersToTransform is null ? null : new JsonArray(LayersToTransform.Select(l => (JsonNode)l).ToArray()),
        ["loftq_config"] = new JsonObject(),
        ["lora_alpha"] = Alpha == Math.Floor(Alpha) ? JsonValue.Create((long)Alpha) : JsonValue.Create(Alpha),
        ["lora_dropout"] = Dropout,
        ["megatron_config"] = null,
        ["megatron_core"] = "megatron.core",
        ["modules_to_save"] = ModulesToSave.Count == 0 ? null : new JsonArray(ModulesToSave.Select(m => (JsonNode)m).ToArray()),
        ["peft_type"] = "LORA",
        ["r"] = Rank,
        ["rank_pattern"] = new JsonObject(),
        ["revision"] = null,
        ["target_modules"] = new JsonArray(TargetModules.Order(StringComparer.Ordinal).Select(m => (JsonNode)m).ToArray()),
        ["task_type"] = "CAUSAL_LM",
        ["use_dora"] = UseDora,
        ["use_rslora"] = UseRsLora,
    };
}
