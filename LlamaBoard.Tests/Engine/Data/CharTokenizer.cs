using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Tests.Engine.Data;

/// <summary>
/// A character-level test tokenizer: each special token is one id (0, 1, …), every other character is
/// 1000 + its code. Token counts are then plain character counts, which makes masks and cuts easy to check.
/// </summary>
public sealed class CharTokenizer(string[] specials, string? bos = null, string? eos = "<|endoftext|>", string? pad = null, bool addsBos = false)
    : ITextTokenizer
{
    public static CharTokenizer ChatMl() => new(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]);

    public static CharTokenizer Llama() => new(["<s>", "</s>", "<unk>"], bos: "<s>", eos: "</s>", addsBos: true);

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        for (int i = 0; i < text.Length;)
        {
            int special = Array.FindIndex(specials, s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (special >= 0)
            {
                ids.Add(special);
                i += specials[special].Length;
            }
            else ids.Add(1000 + text[i++]);
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(id => id < 1000 ? specials[id] : ((char)(id - 1000)).ToString()));

    public int? TokenToId(string token) => Array.IndexOf(specials, token) is var i and >= 0 ? i : null;
    public int? BosTokenId => bos is null ? null : TokenToId(bos);
    public int? EosTokenId => eos is null ? null : TokenToId(eos);
    public int? PadTokenId => pad is null ? null : TokenToId(pad);
    public string? BosToken => bos;
    public string? EosToken => eos;
    public bool AddsBosToken => addsBos;
    public int VocabSize => 1000 + char.MaxValue;
}
