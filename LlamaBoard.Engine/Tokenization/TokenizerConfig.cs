using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// What transformers reads beside tokenizer.json: special token names, add_bos_token / add_eos_token,
/// clean-up, the chat template (tokenizer_config.json, else chat_template.jinja), special_tokens_map.json as a
/// fallback for the names, and generation_config.json's eos ids. Every file is optional.
/// </summary>
internal sealed record TokenizerConfig
{
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }
    public string? UnkToken { get; init; }
    public IReadOnlyList<string> AdditionalSpecialTokens { get; init; } = [];
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    /// <summary>transformers' own default has been false since v4.45; the JS port defaults to true.</summary>
    public bool CleanUpTokenizationSpaces { get; init; }
    public string? ChatTemplate { get; init; }
    public IReadOnlyList<int> GenerationEosTokenIds { get; init; } = [];

    public const string ConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string GenerationConfigFile = "generation_config.json";
    public const string ChatTemplateFile = "chat_template.jinja";

    public static TokenizerConfig Load(string folder)
    {
        var config = ReadObject(Path.Combine(folder, ConfigFile));
        var map = ReadObject(Path.Combine(folder, SpecialTokensMapFile));
        var generation = ReadObject(Path.Combine(folder, GenerationConfigFile));

        var cfg = config is not null ? new JsonFields(Path.Combine(folder, ConfigFile)) : null;
        var mapFields = map is not null ? new JsonFields(Path.Combine(folder, SpecialTokensMapFile)) : null;

        string? Special(string key)
        {
            // tokenizer_config.json wins; special_tokens_map.json fills in what it lacks.
            if (config is { } c1 && JsonFields.Has(c1, key)) return TokenName(c1.GetProperty(key), cfg!, key);
            if (map is { } m && JsonFields.Has(m, key)) return TokenName(m.GetProperty(key), mapFields!, key);
            return null;
        }

        var additional = new List<string>();
        foreach (var (source, fields) in new[] { (config, cfg), (map, mapFields) })
        {
            if (source is not { } s || !JsonFields.Has(s, "additional_special_tokens")) continue;
            var list = s.GetProperty("additional_special_tokens");
            if (list.ValueKind != JsonValueKind.Array)
                throw fields!.Error("additional_special_tokens", $"expected a list, found {JsonFields.Describe(list)}");
            int i = 0;
            foreach (var item in list.EnumerateArray())
                if (TokenName(item, fields!, $"additional_special_tokens[{i++}]") is { } name && !additional.Contains(name))
                    additional.Add(name);
            break;
        }

        string? template = null;
        if (config is { } c2) template = ChatTemplateOf(c2, cfg!);
        string jinja = Path.Combine(folder, ChatTemplateFile);
        if (template is null && File.Exists(jinja)) template = File.ReadAllText(jinja);

        return new TokenizerConfig
        {
            BosToken = Special("bos_token"),
            EosToken = Special("eos_token"),
            PadToken = Special("pad_token"),
            UnkToken = Special("unk_token"),
            AdditionalSpecialTokens = additional,
            AddBosToken = config is { } c3 ? cfg!.OptionalBool(c3, "add_bos_token", "") : null,
            AddEosToken = config is { } c4 ? cfg!.OptionalBool(c4, "add_eos_token", "") : null,
            CleanUpTokenizationSpaces = config is { } c5 && cfg!.OptionalBool(c5, "clean_up_tokenization_spaces", "", false),
            ChatTemplate = template,
            GenerationEosTokenIds = generation is { } g
                ? EosIds(g, new JsonFields(Path.Combine(folder, GenerationConfigFile))) : [],
        };
    }

    /// <summary>Parses a JSON object file, or returns null when the file does not exist.</summary>
    internal static JsonElement? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        JsonDocument document;
        byte[] bytes = File.ReadAllBytes(path);
        if (Runtime.Utf8Text.Problem(bytes) is { } notUtf8)
            throw new InvalidDataException($"{path}: {notUtf8}. Restore the file from the model's original folder.");
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}). Restore the file from the model's original folder.", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object at the top level, found {JsonFields.Describe(document.RootElement)}.");
            return document.RootElement.Clone();
        }
    }

    /// <summary>A special token is written as "&lt;s&gt;" or as an AddedToken object {"content": "&lt;s&gt;", ...}.</summary>
    static string? TokenName(JsonElement value, JsonFields fields, string key) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object => fields.RequiredString(value, "content", key),
        _ => throw fields.Error(key, $"expected a token string or {{\"content\": ...}}, found {JsonFields.Describe(value)}"),
    };

    /// <summary>A string, or a list of {"name", "template"} from which "default" (else the first) is taken.</summary>
    static string? ChatTemplateOf(JsonElement config, JsonFields fields)
    {
        if (!JsonFields.Has(config, "chat_template")) return null;
        var value = config.GetProperty("chat_template");
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind != JsonValueKind.Array)
            throw fields.Error("chat_template", $"expected a string or a list of named templates, found {JsonFields.Describe(value)}");
        string? first = null;
        int i = 0;
        foreach (var entry in value.EnumerateArray())
        {
            string at = $"chat_template[{i++}]";
            string name = fields.RequiredString(entry, "name", at);
            string template = fields.RequiredString(entry, "template", at);
            if (name == "default") return template;
            first ??= template;
        }
        return first;
    }

    static List<int> EosIds(JsonElement generation, JsonFields fields)
    {
        if (!JsonFields.Has(generation, "eos_token_id")) return [];
        var value = generation.GetProperty("eos_token_id");
        if (value.ValueKind == JsonValueKind.Number) return [fields.RequiredInt(value, "eos_token_id")];
        if (value.ValueKind != JsonValueKind.Array)
            throw fields.Error("eos_token_id", $"expected an id or a list of ids, found {JsonFields.Describe(value)}");
        var ids = new List<int>();
        int i = 0;
        foreach (var item in value.EnumerateArray()) ids.Add(fields.RequiredInt(item, $"eos_token_id[{i++}]"));
        return ids;
    }
}
