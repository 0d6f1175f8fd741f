using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// Typed reads from one tokenizer JSON file. Every failure names the file, the JSON path of the offending
/// value and what was expected, so a broken or unsupported tokenizer folder is diagnosable from the message.
/// </summary>
internal sealed class JsonFields(string file)
{
    /// <summary>The file the values come from (used in messages).</summary>
    public string File { get; } = file;

    public InvalidDataException Error(string path, string problem) =>
        new($"{File}: {problem} (at '{path}').");

    public static bool Has(JsonElement obj, string key) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement Required(JsonElement obj, string key, string path)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw Error(path, $"expected an object, found {Describe(obj)}");
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
            throw Error(Join(path, key), "required key is missing");
        return value;
    }

    public JsonElement? Optional(JsonElement obj, string key) =>
        Has(obj, key) ? obj.GetProperty(key) : null;

    public string RequiredString(JsonElement obj, string key, string path)
    {
        var value = Required(obj, key, path);
        if (value.ValueKind != JsonValueKind.String)
            throw Error(Join(path, key), $"expected a string, found {Describe(value)}");
        return value.GetString()!;
    }

    public string? OptionalString(JsonElement obj, string key, string path)
    {
        if (!Has(obj, key)) return null;
        var value = obj.GetProperty(key);
        if (value.ValueKind != JsonValueKind.String)
            throw Error(Join(path, key), $"expected a string, found {Describe(value)}");
        return value.GetString();
    }

    public bool OptionalBool(JsonElement obj, string key, string path, bool fallback)
    {
        if (!Has(obj, key)) return fallback;
        var value = obj.GetProperty(key);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(Join(path, key), $"expected true or false, found {Describe(value)}"),
        };
    }

    public bool? OptionalBool(JsonElement obj, string key, string path)
    {
        if (!Has(obj, key)) return null;
        return OptionalBool(obj, key, path, false);
    }

    public int OptionalInt(JsonElement obj, string key, string path, int fallback)
    {
        if (!Has(obj, key)) return fallback;
        var value = obj.GetProperty(key);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw Error(Join(path, key), $"expected an integer, found {Describe(value)}");
        return result;
    }

    public int RequiredInt(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw Error(path, $"expected an integer, found {Describe(value)}");
        return result;
    }

    public JsonElement RequiredArray(JsonElement obj, string key, string path)
    {
        var value = Required(obj, key, path);
        if (value.ValueKind != JsonValueKind.Array)
            throw Error(Join(path, key), $"expected a list, found {Describe(value)}");
        return value;
    }

    /// <summary>The "type" of a component object, e.g. "BPE" or "Sequence".</summary>
    public string TypeOf(JsonElement component, string path) => RequiredString(component, "type", path);

    public InvalidDataException Unsupported(string path, string kind, string type, IEnumerable<string> supported) =>
        Error(path, $"{kind} type '{type}' is not supported; supported: {string.Join(", ", supported)}");

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => "null",
    };

    static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
