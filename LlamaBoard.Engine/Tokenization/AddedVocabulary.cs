using System.Globalization;
using System.Text;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>One entry of tokenizer.json's "added_tokens" (special tokens such as &lt;|im_start|&gt; and user additions).</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool Normalized, bool LStrip, bool RStrip, bool SingleWord);

/// <summary>
/// Finds added tokens inside text so that each becomes one token, as HF does by default: leftmost match first,
/// the longest token among those starting there. Tokens with <c>normalized: false</c> are matched in the raw
/// text before normalization; those with <c>normalized: true</c> in each normalized piece afterwards.
/// <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c> follow HF's rules.
/// </summary>
internal sealed class AddedVocabulary
{
    readonly Trie raw = new();
    readonly Trie normalized = new();

    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer)
    {
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0) continue;
            if (token.Normalized && normalizer is not null) normalized.Add(normalizer.Normalize(token.Content), token);
            else if (token.Normalized) normalized.Add(token.Content, token);
            else raw.Add(token.Content, token);
        }
    }

    /// <summary>Cuts raw text into added tokens and the text between them.</summary>
    public List<(int Start, int End, AddedToken? Token)> SplitRaw(string text) => Split(text, raw);

    /// <summary>Cuts an already normalized piece at the normalized added tokens.</summary>
    public List<(int Start, int End, AddedToken? Token)> SplitNormalized(string text) => Split(text, normalized);

    static List<(int, int, AddedToken?)> Split(string text, Trie trie)
    {
        var result = new List<(int, int, AddedToken?)>();
        if (trie.IsEmpty)
        {
            if (text.Length > 0) result.Add((0, text.Length, null));
            return result;
        }
        int consumed = 0; // end of the last added-token match
        int i = 0;
        while (i < text.Length)
        {
            var (length, token) = trie.LongestAt(text, i);
            if (token is null)
            {
                i++;
                continue;
            }
            int start = i, stop = i + length;
            if (token.SingleWord && ((start > 0 && IsWordChar(text, start - 1, before: true)) || (stop < text.Length && IsWordChar(text, stop, before: false))))
            {
                // Not a whole word: HF skips this match and searches on after it.
                i = stop;
                continue;
            }
            if (token.LStrip)
                while (start > consumed && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip)
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            if (consumed < start) result.Add((consumed, start, null));
            result.Add((start, stop, token));
            consumed = stop;
            i = stop;
        }
        if (consumed < text.Length) result.Add((consumed, text.Length, null));
        return result;
    }

    /// <summary>Regex \w in HF's sense: letters, marks, decimal digits, connector punctuation.</summary>
    static bool IsWordChar(string text, int index, bool before)
    {
        // Step onto the whole code point when index sits on half of a surrogate pair.
        if (before && char.IsLowSurrogate(text[index]) && index > 0) index--;
        if (!Rune.TryGetRuneAt(text, index, out var rune)) return false;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => rune.Value is 0x200C or 0x200D,
        };
    }

    sealed class Trie
    {
        sealed class Node
        {
            public Dictionary<char, Node>? Children;
            public AddedToken? Token;
        }

        readonly Node root = new();

        public bool IsEmpty => root.Children is null;

        public void Add(string content, AddedToken token)
        {
            var node = root;
            foreach (char c in content)
            {
                node.Children ??= [];
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            // The first entry for a given content wins, as in HF's map from content to token.
            node.Token ??= token;
        }

        public (int Length, AddedToken? Token) LongestAt(string text, int start)
        {
            var node = root;
            (int, AddedToken?) best = (0, null);
            for (int j = start; j < text.Length; j++)
            {
                if (node.Children is null || !node.Children.TryGetValue(text[j], out node)) break;
                if (node.Token is not null) best = (j - start + 1, node.Token);
            }
            return best;
        }
    }
}
