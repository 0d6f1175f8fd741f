namespace LlamaBoard.Engine.Data.Templates;

/// <summary>
/// A tokenizer seen through a template (LLaMA-Factory's <c>fix_special_tokens</c>, without changing the
/// tokenizer): EOS becomes the template's first stop word when it replaces EOS, padding falls back to EOS, and
/// slots turn into ids with each text slot encoded on its own.
/// </summary>
public sealed class TemplateTokenizer
{
    /// <summary>Checks that the tokenizer has the tokens <paramref name="template"/> needs.</summary>
    /// <exception cref="ArgumentException">The EOS (or the stop word replacing it) is missing from the vocabulary.</exception>
    public TemplateTokenizer(ITextTokenizer tokenizer, ChatTemplate template)
    {
        Tokenizer = tokenizer;
        Template = template;
        int? eos = tokenizer.EosTokenId;
        string? eosText = tokenizer.EosToken;
        var stopWords = template.StopWords.ToList();
        if (template.ReplaceEos)
        {
            if (stopWords.Count == 0)
                throw new ArgumentException($"template '{template.Name}' replaces EOS but has no stop words");
            eos = tokenizer.TokenToId(stopWords[0]) ?? throw Missing(template, stopWords[0]);
            eosText = stopWords[0];
            stopWords.RemoveAt(0);
        }
        if (eos is null)
        {
            eos = tokenizer.TokenToId("<|endoftext|>") ?? throw new ArgumentException(
                "the tokenizer has no EOS token and no <|endoftext|> token; set eos_token in its tokenizer_config.json");
            eosText = "<|endoftext|>";
        }
        EosTokenId = eos.Value;
        EosToken = eosText!;
        PadTokenId = tokenizer.PadTokenId ?? EosTokenId;
        var stops = new List<int> { EosTokenId };
        // Further stop words only end generation; one the vocabulary lacks can never be generated, so it is
        // skipped (Llama 3.0 has no <|eom_id|>, which the llama3 template lists for Llama 3.1).
        foreach (var word in stopWords)
            if (tokenizer.TokenToId(word) is { } id) stops.Add(id);
        StopTokenIds = [.. stops.Distinct()];
    }

    /// <summary>The underlying tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; }
    /// <summary>The template.</summary>
    public ChatTemplate Template { get; }
    /// <summary>EOS after replacement by the template's stop word.</summary>
    public int EosTokenId { get; }
    /// <summary>The text of <see cref="EosTokenId"/>.</summary>
    public string EosToken { get; }
    /// <summary>Padding id (the tokenizer's, else EOS).</summary>
    public int PadTokenId { get; }
    /// <summary>EOS plus the template's other stop words: generation ends at any of them.</summary>
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>Token ids of slots: text encoded slot by slot, BOS/EOS/named tokens by id.</summary>
    public List<int> Encode(IEnumerable<TemplateSlot> slots)
    {
        var ids = new List<int>();
        foreach (var slot in slots)
        {
            switch (slot)
            {
                case TextSlot { Value.Length: > 0 } text:
                    ids.AddRange(Tokenizer.Encode(text.Value));
                    break;
                case BosSlot when Tokenizer.BosTokenId is { } bos:
                    ids.Add(bos);
                    break;
                case EosSlot:
                    ids.Add(EosTokenId);
                    break;
                case TokenSlot token:
                    ids.Add(Tokenizer.TokenToId(token.Name) ??
                            throw new ArgumentException($"template '{Template.Name}' needs token '{token.Name}', which the tokenizer lacks"));
                    break;
            }
        }
        return ids;
    }

    /// <summary>The text of slots, with BOS/EOS written as their token strings (for previews).</summary>
    public string Render(IEnumerable<TemplateSlot> slots) => string.Concat(slots.Select(slot => slot switch
    {
        TextSlot text => text.Value,
        BosSlot => Tokenizer.BosTokenId is null ? "" : Tokenizer.BosToken ?? "",
        EosSlot => EosToken,
        TokenSlot token => token.Name,
        _ => "",
    }));

    static ArgumentException Missing(ChatTemplate template, string token) =>
        new($"template '{template.Name}' needs the token '{token}', which this tokenizer's vocabulary lacks; " +
            "choose the template that matches the model (LlamaBoard does not add tokens to a tokenizer)");
}
