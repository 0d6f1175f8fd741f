using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>A tokenizer.json "normalizer": rewrites text before pre-tokenization.</summary>
internal interface INormalizer
{
    string Normalize(string text);
}

/// <summary>Builds normalizers from tokenizer.json and implements the kinds HF decoder-only models use.</summary>
internal static class Normalizers
{
    static readonly string[] Supported =
        ["Sequence", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Prepend", "Replace", "ByteLevel"];

    public static INormalizer? Create(JsonElement? config, JsonFields json, string path)
    {
        if (config is not { } c || c.ValueKind == JsonValueKind.Null) return null;
        string type = json.TypeOf(c, path);
        return type switch
        {
            "Sequence" => new SequenceNormalizer(Children(c, json, path)),
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(json.OptionalBool(c, "strip_left", path, true), json.OptionalBool(c, "strip_right", path, true)),
            "StripAccents" => new StripAccentsNormalizer(),
            "Prepend" => new PrependNormalizer(json.RequiredString(c, "prepend", path)),
            "Replace" => new ReplaceNormalizer(Patterns.Read(c, json, path), json.RequiredString(c, "content", path)),
            "ByteLevel" => new ByteLevelNormalizer(),
            _ => throw json.Unsupported(path, "normalizer", type, Supported),
        };
    }

    static List<INormalizer> Children(JsonElement c, JsonFields json, string path)
    {
        var list = new List<INormalizer>();
        int i = 0;
        foreach (var child in json.RequiredArray(c, "normalizers", path).EnumerateArray())
        {
            if (Create(child, json, $"{path}.normalizers[{i++}]") is { } n) list.Add(n);
        }
        return list;
    }

    sealed class SequenceNormalizer(List<INormalizer> children) : INormalizer
    {
        public string Normalize(string text)
        {
            foreach (var n in children) text = n.Normalize(text);
            return text;
        }
    }

    sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
    {
        public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
    }

    sealed class LowercaseNormalizer : INormalizer
    {
        public string Normalize(string text) => text.ToLowerInvariant();
    }

    sealed class StripNormalizer(bool left, bool right) : INormalizer
    {
        public string Normalize(string text) => (left, right) switch
        {
            (true, true) => text.Trim(),
            (true, false) => text.TrimStart(),
            (false, true) => text.TrimEnd(),
            _ => text,
        };
    }

    /// <summary>Removes combining marks (category Mn), as HF's StripAccents does (usually after NFD).</summary>
    sealed class StripAccentsNormalizer : INormalizer
    {
        public string Normalize(string text)
        {
            var sb = new StringBuilder(text.Length);
            foreach (var rune in text.EnumerateRunes())
                if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) sb.Append(rune.ToString());
            return sb.ToString();
        }
    }

    /// <summary>SentencePiece's dummy prefix: prepends the string to any non-empty text.</summary>
    sealed class PrependNormalizer(string prefix) : INormalizer
    {
        public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    sealed class ReplaceNormalizer(SplitPattern pattern, string content) : INormalizer
    {
        public string Normalize(string text)
        {
            var matches = pattern.FindMatches(text);
            if (matches.TrueForAll(m => !m.IsMatch)) return text;
            var sb = new StringBuilder(text.Length);
            foreach (var (s, e, isMatch) in matches)
            {
                if (isMatch) sb.Append(content);
                else sb.Append(text, s, e - s);
            }
            return sb.ToString();
        }
    }

    sealed class ByteLevelNormalizer : INormalizer
    {
        public string Normalize(string text) => ByteLevelAlphabet.Encode(text);
    }
}

/// <summary>Reads the {"String": ...} / {"Regex": ...} pattern objects of Split, Replace and friends.</summary>
internal static class Patterns
{
    public static SplitPattern Read(JsonElement component, JsonFields json, string path)
    {
        var pattern = json.Required(component, "pattern", path);
        string at = JsonFields.Join(path, "pattern");
        if (pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
            return SplitPattern.Literal(s.GetString()!);
        if (pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
        {
            try
            {
                return SplitPattern.Regex(r.GetString()!);
            }
            catch (ArgumentException e)
            {
                throw json.Error(at, $"the regular expression cannot be used here ({e.Message})");
            }
        }
        throw json.Error(at, $"expected {{\"String\": ...}} or {{\"Regex\": ...}}, found {JsonFields.Describe(pattern)}");
    }
}
