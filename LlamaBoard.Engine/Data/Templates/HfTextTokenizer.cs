using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>An <see cref="HfTokenizer"/> as the data layer sees it (text is encoded without added special tokens).</summary>
public sealed class HfTextTokenizer(HfTokenizer tokenizer) : ITextTokenizer
{
    /// <summary>The wrapped tokenizer.</summary>
    public HfTokenizer Tokenizer { get; } = tokenizer;

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text) => Tokenizer.Encode(text, addSpecialTokens: false);
    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);
    /// <inheritdoc/>
    public int? TokenToId(string token) => Tokenizer.TokenToId(token);
    /// <inheritdoc/>
    public int? BosTokenId => Tokenizer.BosTokenId;
    /// <inheritdoc/>
    public int? EosTokenId => Tokenizer.EosTokenId;
    /// <inheritdoc/>
    public int? PadTokenId => Tokenizer.PadTokenId;
    /// <inheritdoc/>
    public string? BosToken => Tokenizer.BosToken;
    /// <inheritdoc/>
    public string? EosToken => Tokenizer.EosToken;
    /// <inheritdoc/>
    public bool AddsBosToken => Tokenizer.AddBosToken;
    /// <inheritdoc/>
    public int VocabSize => Tokenizer.VocabSize;
}
