using System.Globalization;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>How the pieces around a pattern match are kept (HF's SplitDelimiterBehavior).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>
/// A split pattern from tokenizer.json: a literal string or a regular expression, matched the way HF tokenizers
/// matches it, i.e. over Unicode code points. .NET's Regex works on UTF-16 units, so a character outside the
/// Basic Multilingual Plane (an emoji, a CJK Extension B ideograph) would be two "characters" of category
/// Surrogate and \p{L}, \p{N} or a {1,3} count would see it wrongly. Such text is matched on a shadow string
/// where each supplementary code point stands as one BMP character of the same Unicode category.
/// </summary>
internal sealed class SplitPattern
{
    readonly Regex? regex;
    readonly string? literal;

    SplitPattern(Regex? regex, string? literal)
    {
        this.regex = regex;
        this.literal = literal;
    }

    public static SplitPattern Literal(string text) => new(null, text);

    /// <summary>Compiles an Oniguruma-style pattern; throws <see cref="ArgumentException"/> if .NET cannot parse it.</summary>
    public static SplitPattern Regex(string pattern) =>
        new(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled), null);

    /// <summary>
    /// Cuts <paramref name="text"/> into contiguous (start, end, isMatch) ranges covering all of it, in UTF-16
    /// offsets of the original text. Empty matches are ignored.
    /// </summary>
    public List<(int Start, int End, bool IsMatch)> FindMatches(string text)
    {
        var result = new List<(int, int, bool)>();
        if (text.Length == 0) return result;
        int previous = 0;
        void Add(int start, int end)
        {
            if (end <= start) return;
            if (previous < start) result.Add((previous, start, false));
            result.Add((start, end, true));
            previous = end;
        }

        if (literal is not null)
        {
            if (literal.Length > 0)
            {
                int at = 0;
                while ((at = text.IndexOf(literal, at, StringComparison.Ordinal)) >= 0)
                {
                    Add(at, at + literal.Length);
                    at += literal.Length;
                }
            }
        }
        else if (!HasSurrogates(text))
        {
            foreach (var m in regex!.EnumerateMatches(text)) Add(m.Index, m.Index + m.Length);
        }
        else
        {
            var (shadow, toOriginal) = Shadow(text);
            foreach (var m in regex!.EnumerateMatches(shadow))
                Add(toOriginal[m.Index], toOriginal[m.Index + m.Length]);
        }
        if (previous < text.Length) result.Add((previous, text.Length, false));
        return result;
    }

    /// <summary>Splits <paramref name="text"/> at the pattern, keeping delimiters as <paramref name="behavior"/> says.</summary>
    public List<(int Start, int End)> Split(string text, SplitBehavior behavior, bool invert)
    {
        var matches = FindMatches(text);
        if (invert)
            for (int i = 0; i < matches.Count; i++) matches[i] = (matches[i].Start, matches[i].End, !matches[i].IsMatch);

        var pieces = new List<(int Start, int End)>(matches.Count);
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var (s, e, _) in matches) pieces.Add((s, e));
                break;
            case SplitBehavior.Removed:
                foreach (var (s, e, isMatch) in matches) if (!isMatch) pieces.Add((s, e));
                break;
            case SplitBehavior.Contiguous:
                foreach (var (s, e, isMatch) in matches)
                {
                    if (pieces.Count > 0 && isMatch == previousMatch) pieces[^1] = (pieces[^1].Start, e);
                    else pieces.Add((s, e));
                    previousMatch = isMatch;
                }
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var (s, e, isMatch) in matches)
                {
                    if (isMatch && !previousMatch && pieces.Count > 0) pieces[^1] = (pieces[^1].Start, e);
                    else pieces.Add((s, e));
                    previousMatch = isMatch;
                }
                break;
            case SplitBehavior.MergedWithNext:
                // Walk backwards: a delimiter joins the piece that follows it.
                for (int i = matches.Count - 1; i >= 0; i--)
                {
                    var (s, e, isMatch) = matches[i];
                    if (isMatch && !previousMatch && pieces.Count > 0) pieces[^1] = (s, pieces[^1].End);
                    else pieces.Add((s, e));
                    previousMatch = isMatch;
                }
                pieces.Reverse();
                break;
        }
        return pieces;
    }

    static bool HasSurrogates(string text)
    {
        foreach (char c in text) if (char.IsSurrogate(c)) return true;
        return false;
    }

    /// <summary>One BMP character per code point, and the original offset of each shadow offset (plus the end).</summary>
    static (string Shadow, int[] ToOriginal) Shadow(string text)
    {
        var shadow = new char[text.Length];
        var toOriginal = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; n++)
        {
            toOriginal[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                shadow[n] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i += 2;
            }
            else
            {
                shadow[n] = text[i];
                i++;
            }
        }
        toOriginal[n] = text.Length;
        return (new string(shadow, 0, n), toOriginal);
    }

    /// <summary>A BMP character of the given category that no tokenizer pattern names literally.</summary>
    static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0416',
        UnicodeCategory.LowercaseLetter => '\u0436',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u4E00',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A7',
        UnicodeCategory.MathSymbol => '\u00D7',
        UnicodeCategory.CurrencySymbol => '\u00A3',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u00A9',
        _ => '\u0378', // unassigned (Cn); no supplementary code point is a space, separator or control
    };
}
