using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// The ids a tokenizer.json "post_processor" puts around a single sequence when special tokens are requested
/// (e.g. Llama 2's &lt;s&gt; before, nothing after). Pair templates are not needed by a causal LM pipeline.
/// </summary>
internal sealed record SpecialTokenTemplate(int[] Prefix, int[] Suffix)
{
    public static readonly SpecialTokenTemplate Empty = new([], []);

    static readonly string[] Supported = ["TemplateProcessing", "ByteLevel", "Sequence", "RobertaProcessing", "BertProcessing"];

    public static SpecialTokenTemplate Create(JsonElement? config, JsonFields json, string path)
    {
        if (config is not { } c || c.ValueKind == JsonValueKind.Null) return Empty;
        string type = json.TypeOf(c, path);
        switch (type)
        {
            case "ByteLevel":
                return Empty; // only trims offsets; ids are untouched
            case "Sequence":
            {
                // Each processor wraps the output of the previous one.
                var result = Empty;
                int i = 0;
                foreach (var child in json.RequiredArray(c, "processors", path).EnumerateArray())
                {
                    var inner = Create(child, json, $"{path}.processors[{i++}]");
                    result = new SpecialTokenTemplate([.. inner.Prefix, .. result.Prefix], [.. result.Suffix, .. inner.Suffix]);
                }
                return result;
            }
            case "RobertaProcessing" or "BertProcessing":
                return new SpecialTokenTemplate([IdOfPair(c, "cls", json, path)], [IdOfPair(c, "sep", json, path)]);
            case "TemplateProcessing":
                return FromTemplate(c, json, path);
            default:
                throw json.Unsupported(path, "post_processor", type, Supported);
        }
    }

    static int IdOfPair(JsonElement c, string key, JsonFields json, string path)
    {
        var pair = json.Required(c, key, path);
        string at = JsonFields.Join(path, key);
        if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
            throw json.Error(at, "expected [token, id]");
        return json.RequiredInt(pair[1], at + "[1]");
    }

    static SpecialTokenTemplate FromTemplate(JsonElement c, JsonFields json, string path)
    {
        var specials = json.Optional(c, "special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        int i = 0;
        foreach (var piece in json.RequiredArray(c, "single", path).EnumerateArray())
        {
            string at = $"{path}.single[{i++}]";
            if (piece.ValueKind == JsonValueKind.Object && piece.TryGetProperty("Sequence", out var sequence))
            {
                string id = json.RequiredString(sequence, "id", at + ".Sequence");
                if (id != "A" || seenSequence)
                    throw json.Error(at, "a single-sequence template must hold sequence A exactly once");
                seenSequence = true;
            }
            else if (piece.ValueKind == JsonValueKind.Object && piece.TryGetProperty("SpecialToken", out var special))
            {
                string name = json.RequiredString(special, "id", at + ".SpecialToken");
                if (specials is not { } map || !map.TryGetProperty(name, out var entry))
                    throw json.Error(at, $"the template names special token \"{name}\", which is not in {path}.special_tokens");
                string entryPath = $"{path}.special_tokens[\"{name}\"]";
                int k = 0;
                foreach (var id in json.RequiredArray(entry, "ids", entryPath).EnumerateArray())
                    (seenSequence ? suffix : prefix).Add(json.RequiredInt(id, $"{entryPath}.ids[{k++}]"));
            }
            else
            {
                throw json.Error(at, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        if (!seenSequence) throw json.Error(JsonFields.Join(path, "single"), "the template does not contain sequence A");
        return new SpecialTokenTemplate([.. prefix], [.. suffix]);
    }
}
