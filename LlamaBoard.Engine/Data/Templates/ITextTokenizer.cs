namespace LlamaBoard.Engine.Data.Templates;

/// <summary>
/// What the data layer needs from a tokenizer. <see cref="Encode"/> never adds BOS/EOS itself but recognises
/// special-token text (such as "&lt;|im_end|&gt;") as the token, as Hugging Face tokenizers do.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Token ids of <paramref name="text"/>, without added special tokens.</summary>
    IReadOnlyList<int> Encode(string text);
    /// <summary>Text of <paramref name="ids"/>, special tokens included.</summary>
    string Decode(IEnumerable<int> ids);
    /// <summary>The id of a token string, or null when the vocabulary lacks it.</summary>
    int? TokenToId(string token);
    /// <summary>The BOS token id, if any.</summary>
    int? BosTokenId { get; }
    /// <summary>The EOS token id, if any.</summary>
    int? EosTokenId { get; }
    /// <summary>The padding token id, if any.</summary>
    int? PadTokenId { get; }
    /// <summary>The BOS token text, if any.</summary>
    string? BosToken { get; }
    /// <summary>The EOS token text, if any.</summary>
    string? EosToken { get; }
    /// <summary>True when the tokenizer puts BOS before each text it encodes with special tokens (Llama, Gemma).</summary>
    bool AddsBosToken { get; }
    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }
}
