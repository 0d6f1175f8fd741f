using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// One piece of text on its way to the model. <see cref="AtTextStart"/> says whether the piece begins at offset 0
/// of the caller's text (Metaspace's prepend_scheme "first" only prefixes that piece).
/// </summary>
internal readonly record struct PreToken(string Text, bool AtTextStart);

/// <summary>A tokenizer.json "pre_tokenizer": cuts normalized text into the words the model encodes one by one.</summary>
internal interface IPreTokenizer
{
    /// <summary>Replaces <paramref name="pieces"/> with their splits (empty pieces dropped).</summary>
    List<PreToken> PreTokenize(List<PreToken> pieces);
}

/// <summary>Builds pre-tokenizers from tokenizer.json and implements the kinds decoder-only models use.</summary>
internal static class PreTokenizers
{
    static readonly string[] Supported =
        ["Sequence", "Split", "ByteLevel", "Metaspace", "Digits", "Whitespace", "WhitespaceSplit", "Punctuation"];

    /// <summary>GPT-2's word pattern, used by ByteLevel when use_regex is on.</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly Lazy<SplitPattern> Gpt2 = new(() => SplitPattern.Regex(Gpt2Pattern));

    public static IPreTokenizer? Create(JsonElement? config, JsonFields json, string path)
    {
        if (config is not { } c || c.ValueKind == JsonValueKind.Null) return null;
        string type = json.TypeOf(c, path);
        switch (type)
        {
            case "Sequence":
            {
                var children = new List<IPreTokenizer>();
                int i = 0;
                foreach (var child in json.RequiredArray(c, "pretokenizers", path).EnumerateArray())
                    if (Create(child, json, $"{path}.pretokenizers[{i++}]") is { } p) children.Add(p);
                return new SequencePreTokenizer(children);
            }
            case "Split":
                return new SplitPreTokenizer(Patterns.Read(c, json, path), Behavior(c, json, path, null),
                    json.OptionalBool(c, "invert", path, false));
            case "ByteLevel":
                return new ByteLevelPreTokenizer(json.OptionalBool(c, "add_prefix_space", path, true),
                    json.OptionalBool(c, "use_regex", path, true));
            case "Metaspace":
                return new MetaspacePreTokenizer(MetaspaceOptions.Read(c, json, path));
            case "Digits":
                return new SplitPreTokenizer(SplitPattern.Regex("[0-9]"),
                    json.OptionalBool(c, "individual_digits", path, false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous, false);
            case "Whitespace":
                return new SplitPreTokenizer(SplitPattern.Regex(@"\w+|[^\w\s]+"), SplitBehavior.Removed, invert: true);
            case "WhitespaceSplit":
                return new SplitPreTokenizer(SplitPattern.Regex(@"\s"), SplitBehavior.Removed, false);
            case "Punctuation":
                return new SplitPreTokenizer(SplitPattern.Regex(@"[\p{P}!-/:-@\[-`{-~]"),
                    Behavior(c, json, path, SplitBehavior.Isolated), false);
            default:
                throw json.Unsupported(path, "pre_tokenizer", type, Supported);
        }
    }

    static SplitBehavior Behavior(JsonElement c, JsonFields json, string path, SplitBehavior? fallback)
    {
        string? name = json.OptionalString(c, "behavior", path);
        if (name is null && fallback is { } f) return f;
        if (name is not null && Enum.TryParse<SplitBehavior>(name, ignoreCase: false, out var behavior)) return behavior;
        throw json.Error(JsonFields.Join(path, "behavior"),
            $"expected one of {string.Join(", ", Enum.GetNames<SplitBehavior>())}, found {(name is null ? "nothing" : $"\"{name}\"")}");
    }

    /// <summary>Applies a split to every piece; sub-pieces keep the start flag only if they begin the piece.</summary>
    internal static List<PreToken> SplitEach(List<PreToken> pieces, Func<string, List<(int Start, int End)>> split)
    {
        var result = new List<PreToken>(pieces.Count * 2);
        foreach (var piece in pieces)
        {
            foreach (var (s, e) in split(piece.Text))
                if (e > s) result.Add(new PreToken(piece.Text[s..e], piece.AtTextStart && s == 0));
        }
        return result;
    }

    sealed class SequencePreTokenizer(List<IPreTokenizer> children) : IPreTokenizer
    {
        public List<PreToken> PreTokenize(List<PreToken> pieces)
        {
            foreach (var child in children) pieces = child.PreTokenize(pieces);
            return pieces;
        }
    }

    sealed class SplitPreTokenizer(SplitPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
    {
        public List<PreToken> PreTokenize(List<PreToken> pieces) =>
            SplitEach(pieces, text => pattern.Split(text, behavior, invert));
    }

    /// <summary>
    /// Byte-level: optionally a leading space and GPT-2's word split, then each piece's UTF-8 bytes spelled in
    /// <see cref="ByteLevelAlphabet"/>.
    /// </summary>
    sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
    {
        public List<PreToken> PreTokenize(List<PreToken> pieces)
        {
            if (addPrefixSpace)
            {
                pieces = pieces.ConvertAll(p => p.Text.StartsWith(' ') ? p : p with { Text = " " + p.Text });
            }
            if (useRegex) pieces = SplitEach(pieces, text => Gpt2.Value.Split(text, SplitBehavior.Isolated, false));
            return pieces.ConvertAll(p => p with { Text = ByteLevelAlphabet.Encode(p.Text) });
        }
    }

    sealed class MetaspacePreTokenizer(MetaspaceOptions options) : IPreTokenizer
    {
        readonly SplitPattern replacement = SplitPattern.Literal(options.Replacement.ToString());

        public List<PreToken> PreTokenize(List<PreToken> pieces)
        {
            var replaced = new List<PreToken>(pieces.Count);
            foreach (var piece in pieces)
            {
                string text = piece.Text.Replace(" ", options.Replacement.ToString(), StringComparison.Ordinal);
                bool prepend = options.Prepend switch
                {
                    PrependScheme.Always => true,
                    PrependScheme.First => piece.AtTextStart,
                    _ => false,
                };
                if (prepend && !text.StartsWith(options.Replacement)) text = options.Replacement + text;
                replaced.Add(piece with { Text = text });
            }
            return options.Split
                ? SplitEach(replaced, text => replacement.Split(text, SplitBehavior.MergedWithNext, false))
                : replaced;
        }
    }
}

/// <summary>When Metaspace prefixes a piece with the replacement character.</summary>
internal enum PrependScheme { Always, First, Never }

/// <summary>Metaspace settings, shared by the pre-tokenizer and the decoder of the same name.</summary>
internal sealed record MetaspaceOptions(char Replacement, PrependScheme Prepend, bool Split)
{
    public static MetaspaceOptions Read(JsonElement c, JsonFields json, string path)
    {
        string replacement = json.OptionalString(c, "replacement", path) ?? "\u2581";
        if (replacement.Length != 1)
            throw json.Error(JsonFields.Join(path, "replacement"), "expected a single character");
        PrependScheme scheme;
        if (json.OptionalString(c, "prepend_scheme", path) is { } name)
        {
            scheme = name switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                _ => throw json.Error(JsonFields.Join(path, "prepend_scheme"), $"expected always, first or never, found \"{name}\""),
            };
        }
        else
        {
            // Files written before prepend_scheme existed carry add_prefix_space instead.
            scheme = json.OptionalBool(c, "add_prefix_space", path, true) ? PrependScheme.Always : PrependScheme.Never;
        }
        return new MetaspaceOptions(replacement[0], scheme, json.OptionalBool(c, "split", path, true));
    }
}
