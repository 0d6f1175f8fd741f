using System.Text;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// Turns generated ids into text one id at a time. Text is released only once no later id can change it, so:
/// no delta ever ends inside a character (an emoji or CJK character spelled by several byte tokens is held
/// until its last byte arrives), and the deltas joined, followed by <see cref="Flush"/>, equal
/// <see cref="HfTokenizer.Decode"/> of all ids, whatever the ids are.
/// </summary>
/// <remarks>
/// It keeps a window of tokens since the last point where cutting the text is exact and re-decodes only that
/// window. A cut is exact where the byte stream is at a character boundary (byte-level BPE), after a run of
/// &lt;0xNN&gt; tokens has ended (byte fallback: HF turns a whole run into U+FFFD if any byte in it is bad, so a
/// run is held until a non-byte token follows), and where transformers' clean-up cannot join text across the cut.
/// Not thread-safe: one instance per generation stream.
/// </remarks>
public sealed class StreamingDetokenizer
{
    readonly HfTokenizer tokenizer;
    readonly bool skipSpecialTokens;
    readonly StreamingProfile profile;
    readonly List<string> window = [];
    readonly List<byte> tailBytes = [];
    bool atStart = true;
    int emitted; // characters of the window's text already returned

    internal StreamingDetokenizer(HfTokenizer tokenizer, bool skipSpecialTokens)
    {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        profile = tokenizer.Streaming;
    }

    /// <summary>Feeds one id; returns the text that became final (often empty while a character is incomplete).</summary>
    public string Add(int id)
    {
        if (tokenizer.StreamToken(id, skipSpecialTokens) is not { } token) return "";
        window.Add(token);
        if (!IsCutPoint(token)) return "";

        string text = tokenizer.DecodeTokens(window, new DecodeSpan(atStart, AtEnd: false));
        int stable = StableLength(text);
        string delta = stable > emitted ? text[emitted..stable] : "";
        emitted = Math.Max(emitted, stable);

        // Start a new window when nothing is held back. At the very start, wait for visible text first, so
        // Strip's leading count and the like apply to the text's real beginning.
        if (stable == text.Length && (!atStart || text.Length > 0))
        {
            window.Clear();
            emitted = 0;
            atStart = false;
        }
        return delta;
    }

    /// <summary>
    /// Ends the stream: returns everything still held back (an unfinished byte sequence decodes to U+FFFD here,
    /// exactly as in <see cref="HfTokenizer.Decode"/>). The decoder can then be reused for a new stream.
    /// </summary>
    public string Flush()
    {
        string text = tokenizer.DecodeTokens(window, new DecodeSpan(atStart, AtEnd: true));
        string delta = text.Length > emitted ? text[emitted..] : "";
        window.Clear();
        tailBytes.Clear();
        emitted = 0;
        atStart = true;
        return delta;
    }

    /// <summary>Whether cutting after <paramref name="token"/> cannot change how the text so far decodes.</summary>
    bool IsCutPoint(string token)
    {
        if (profile.ByteLevel)
        {
            ByteLevelAlphabet.AppendBytes(token, tailBytes);
            if (tailBytes.Count > 4) tailBytes.RemoveRange(0, tailBytes.Count - 4);
            return !EndsInsideCharacter(tailBytes);
        }
        if (profile.ByteFallback) return !Decoders.TryParseByteToken(token, out _);
        return true;
    }

    /// <summary>
    /// True when the bytes end with a lead byte still waiting for continuation bytes. Judged broadly (any lead
    /// byte 0xC0-0xF7), which can only delay a cut, never make an unsafe one.
    /// </summary>
    static bool EndsInsideCharacter(List<byte> bytes)
    {
        int continuation = 0;
        for (int i = bytes.Count - 1; i >= 0 && continuation < 4; i--)
        {
            byte b = bytes[i];
            if ((b & 0xC0) == 0x80)
            {
                continuation++;
                continue;
            }
            int length = b >= 0xF0 && b <= 0xF7 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC0 && b <= 0xDF ? 2 : 1;
            return continuation < length - 1;
        }
        return false;
    }

    /// <summary>How much of the window's text no later token can change.</summary>
    int StableLength(string text)
    {
        int stable = text.Length;
        if (tokenizer.CleansUpSpaces)
        {
            // Every clean-up pattern starts with a space and is at most 4 characters long (" n't"), so only a
            // space among the last 3 characters can still take part in a replacement.
            for (int i = Math.Max(0, text.Length - 3); i < text.Length; i++)
            {
                if (text[i] != ' ') continue;
                stable = i;
                break;
            }
        }
        if (profile.StripStopCharacter is { } strip)
        {
            // A trailing run of the character may be stripped at the text's very end.
            while (stable > 0 && text[stable - 1] == strip) stable--;
        }
        return stable;
    }
}

/// <summary>What the streaming detokenizer must know about a tokenizer's decoder chain.</summary>
internal sealed record StreamingProfile(bool ByteLevel, bool ByteFallback, char? StripStopCharacter)
{
    public static StreamingProfile Of(JsonElement root, JsonFields json)
    {
        bool byteLevel = false, byteFallback = false;
        char? strip = null;
        void Visit(JsonElement d)
        {
            if (d.ValueKind != JsonValueKind.Object) return;
            switch (json.OptionalString(d, "type", "decoder"))
            {
                case "ByteLevel": byteLevel = true; break;
                case "ByteFallback": byteFallback = true; break;
                case "Strip" when d.TryGetProperty("stop", out var stop) && stop.ValueKind == JsonValueKind.Number && stop.GetInt32() > 0:
                    strip = d.GetProperty("content").GetString()![0];
                    break;
                case "Sequence":
                    foreach (var child in d.GetProperty("decoders").EnumerateArray()) Visit(child);
                    break;
            }
        }
        if (json.Optional(root, "decoder") is { } decoder) Visit(decoder);
        return new StreamingProfile(byteLevel, byteFallback, strip);
    }
}
