using System.Text;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>
/// Splits text into words the way jieba's default mode (<c>jieba.cut(text)</c>) does for everything but Chinese
/// words, so ROUGE scores match LLaMA-Factory's on English, code, numbers and punctuation.
/// </summary>
/// <remarks>
/// jieba first cuts the text into blocks of <c>[\u4E00-\u9FD5a-zA-Z0-9+#&amp;._%-]</c> and the rest. Outside
/// those blocks every whitespace character (or <c>\r\n</c>) is a word of its own, and so is every other
/// character (punctuation such as <c>,</c> <c>!</c> <c>?</c>). Inside a block the non-Chinese parts go through
/// jieba's fallback segmenter, which keeps runs of <c>[a-zA-Z0-9]+(\.\d+)?%?</c> whole ("hello", "3.14", "50%")
/// and yields what lies between them as it is ("-", "...", "#").
/// <para>
/// Known difference: jieba joins Chinese characters into dictionary and HMM words; this segmenter, which has no
/// dictionary, makes each Chinese character a word of its own. It also does not reproduce jieba's quirk of
/// spelling out, letter by letter, a Latin word that happens to be the prefix of a mixed dictionary entry
/// (such as "Hold" from "Hold住"). BLEU is unaffected (LLaMA-Factory computes it on characters).
/// </para>
/// </remarks>
public static partial class WordSegmenter
{
    [GeneratedRegex(@"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")]
    private static partial Regex HanDefaultBlock();

    [GeneratedRegex(@"[\u4E00-\u9FD5]+")]
    private static partial Regex ChineseRun();

    [GeneratedRegex(@"[a-zA-Z0-9]+(?:\.\d+)?%?")]
    private static partial Regex LatinWord();

    /// <summary>The words of <paramref name="text"/>, in order; whitespace words included, as jieba yields them.</summary>
    public static List<string> Cut(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        int at = 0;
        foreach (Match block in HanDefaultBlock().Matches(text))
        {
            CutOther(text[at..block.Index], words);
            CutBlock(block.Value, words);
            at = block.Index + block.Length;
        }
        CutOther(text[at..], words);
        return words;
    }

    /// <summary>Outside the blocks: "\r\n" and each whitespace character alone, every other character alone.</summary>
    static void CutOther(string text, List<string> words)
    {
        for (int i = 0; i < text.Length;)
        {
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                words.Add("\r\n");
                i += 2;
                continue;
            }
            // One code point per word (a surrogate pair is one character to Python).
            int length = char.IsSurrogatePair(text, i) ? 2 : 1;
            words.Add(text.Substring(i, length));
            i += length;
        }
    }

    /// <summary>Inside a block: Chinese characters one by one; Latin words and numbers whole; what lies between as it is.</summary>
    static void CutBlock(string block, List<string> words)
    {
        int at = 0;
        foreach (Match chinese in ChineseRun().Matches(block))
        {
            CutLatin(block[at..chinese.Index], words);
            foreach (char c in chinese.Value) words.Add(c.ToString());
            at = chinese.Index + chinese.Length;
        }
        CutLatin(block[at..], words);
    }

    static void CutLatin(string text, List<string> words)
    {
        int at = 0;
        foreach (Match word in LatinWord().Matches(text))
        {
            if (word.Index > at) words.Add(text[at..word.Index]);
            words.Add(word.Value);
            at = word.Index + word.Length;
        }
        if (at < text.Length) words.Add(text[at..]);
    }

    /// <summary>The code points of <paramref name="text"/> as strings (Python's <c>list(text)</c>).</summary>
    public static List<string> Characters(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var characters = new List<string>(text.Length);
        foreach (Rune rune in text.EnumerateRunes()) characters.Add(rune.ToString());
        return characters;
    }
}
