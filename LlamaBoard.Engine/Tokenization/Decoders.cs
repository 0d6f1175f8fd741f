using System.Text;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// Where a run of tokens sits in the whole decoded text. A full decode is both start and end; the streaming
/// detokenizer decodes windows in the middle, where start-only effects (Strip's leading count, Metaspace's
/// first-token space) and end-only effects (Strip's trailing count) must not apply.
/// </summary>
internal readonly record struct DecodeSpan(bool AtStart, bool AtEnd)
{
    public static readonly DecodeSpan Whole = new(true, true);
}

/// <summary>A tokenizer.json "decoder": turns a list of token strings into (fewer) strings, as HF's decode_chain.</summary>
internal interface ITokenDecoder
{
    /// <param name="tokens">the pieces so far.</param>
    /// <param name="span">where the pieces sit in the whole text.</param>
    /// <param name="fused">true once an earlier decoder joined the pieces into one (the whole text).</param>
    List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused);
}

/// <summary>Builds decoders from tokenizer.json and implements the kinds decoder-only models use.</summary>
internal static class Decoders
{
    static readonly string[] Supported = ["Sequence", "ByteLevel", "ByteFallback", "Fuse", "Replace", "Strip", "Metaspace"];

    public static ITokenDecoder? Create(JsonElement? config, JsonFields json, string path)
    {
        if (config is not { } c || c.ValueKind == JsonValueKind.Null) return null;
        string type = json.TypeOf(c, path);
        switch (type)
        {
            case "Sequence":
            {
                var children = new List<ITokenDecoder>();
                int i = 0;
                foreach (var child in json.RequiredArray(c, "decoders", path).EnumerateArray())
                    if (Create(child, json, $"{path}.decoders[{i++}]") is { } d) children.Add(d);
                return new SequenceDecoder(children);
            }
            case "ByteLevel": return new ByteLevelDecoder();
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Replace":
            {
                var pattern = json.Required(c, "pattern", path);
                if (pattern.ValueKind != JsonValueKind.Object || !pattern.TryGetProperty("String", out var literal) || literal.ValueKind != JsonValueKind.String)
                    throw json.Error(JsonFields.Join(path, "pattern"), "only {\"String\": ...} patterns are supported in a Replace decoder");
                return new ReplaceDecoder(literal.GetString()!, json.RequiredString(c, "content", path));
            }
            case "Strip":
            {
                string content = json.RequiredString(c, "content", path);
                if (content.Length != 1) throw json.Error(JsonFields.Join(path, "content"), "expected a single character");
                return new StripDecoder(content[0], json.OptionalInt(c, "start", path, 0), json.OptionalInt(c, "stop", path, 0));
            }
            case "Metaspace":
                return new MetaspaceDecoder(MetaspaceOptions.Read(c, json, path));
            default:
                throw json.Unsupported(path, "decoder", type, Supported);
        }
    }

    /// <summary>True for SentencePiece byte tokens such as "&lt;0xE4&gt;".</summary>
    public static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
               && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    sealed class SequenceDecoder(List<ITokenDecoder> children) : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            foreach (var child in children) tokens = child.Decode(tokens, span, ref fused);
            return tokens;
        }
    }

    /// <summary>All tokens' bytes joined, then read as UTF-8 with U+FFFD for invalid sequences.</summary>
    sealed class ByteLevelDecoder : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            var bytes = new List<byte>(tokens.Count * 4);
            foreach (var t in tokens) ByteLevelAlphabet.AppendBytes(t, bytes);
            fused = true;
            return [Encoding.UTF8.GetString(bytes.ToArray())];
        }
    }

    /// <summary>
    /// Runs of "&lt;0xNN&gt;" tokens become the text their bytes spell; a run that is not valid UTF-8 becomes one
    /// U+FFFD per byte token, as in HF.
    /// </summary>
    sealed class ByteFallbackDecoder : ITokenDecoder
    {
        static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            var result = new List<string>(tokens.Count);
            var run = new List<byte>();
            foreach (var token in tokens)
            {
                if (TryParseByteToken(token, out byte b))
                {
                    run.Add(b);
                    continue;
                }
                Flush(run, result);
                result.Add(token);
            }
            Flush(run, result);
            return result;
        }

        static void Flush(List<byte> run, List<string> result)
        {
            if (run.Count == 0) return;
            try
            {
                result.Add(Strict.GetString(run.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                for (int i = 0; i < run.Count; i++) result.Add("\uFFFD");
            }
            run.Clear();
        }
    }

    sealed class FuseDecoder : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            fused = true;
            return [string.Concat(tokens)];
        }
    }

    sealed class ReplaceDecoder(string pattern, string content) : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused) =>
            pattern.Length == 0 ? tokens : tokens.ConvertAll(t => t.Replace(pattern, content, StringComparison.Ordinal));
    }

    /// <summary>
    /// Removes up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> characters of each piece. Once
    /// the pieces are fused, the one piece is the whole text, so the ends only count at the text's real ends.
    /// </summary>
    sealed class StripDecoder(char content, int start, int stop) : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            int from = fused && !span.AtStart ? 0 : start;
            int to = fused && !span.AtEnd ? 0 : stop;
            if (from == 0 && to == 0) return tokens;
            return tokens.ConvertAll(t =>
            {
                int s = 0;
                while (s < from && s < t.Length && t[s] == content) s++;
                int e = t.Length;
                while (t.Length - e < to && e > s && t[e - 1] == content) e--;
                return t[s..e];
            });
        }
    }

    /// <summary>The replacement character becomes a space, and disappears in the text's first token.</summary>
    sealed class MetaspaceDecoder(MetaspaceOptions options) : ITokenDecoder
    {
        public List<string> Decode(List<string> tokens, DecodeSpan span, ref bool fused)
        {
            var result = new List<string>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
            {
                bool drop = i == 0 && span.AtStart && options.Prepend != PrependScheme.Never;
                result.Add(tokens[i].Replace(options.Replacement.ToString(), drop ? "" : " ", StringComparison.Ordinal));
            }
            return result;
        }
    }
}
