using System.Text;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// A Hugging Face tokenizer read from a model folder (tokenizer.json + tokenizer_config.json, with
/// special_tokens_map.json and generation_config.json when present), giving the same ids and text as
/// transformers' fast tokenizer: <c>Encode(text)</c> is <c>tokenizer(text)["input_ids"]</c> and
/// <c>Decode(ids, skip)</c> is <c>tokenizer.decode(ids, skip_special_tokens=skip)</c>.
/// </summary>
/// <remarks>
/// Pipeline (HF's): added tokens are cut out of the raw text first, so "&lt;|im_start|&gt;" is one token; each
/// piece between them is normalized, pre-tokenized into words and BPE-encoded; the post-processor's special
/// tokens go around the whole. Supported: BPE models, byte-level (Llama 3, Qwen 2/3) and SentencePiece-style
/// with byte fallback (Llama 2, Mistral, Gemma). Unsupported component types fail at load with the file and the
/// JSON path. Instances are immutable and safe to share between threads.
/// </remarks>
public sealed class HfTokenizer
{
    /// <summary>The main file of a tokenizer folder.</summary>
    public const string TokenizerFile = "tokenizer.json";

    readonly INormalizer? normalizer;
    readonly IPreTokenizer? preTokenizer;
    readonly BpeModel model;
    readonly ITokenDecoder? decoder;
    readonly AddedVocabulary addedVocabulary;
    readonly SpecialTokenTemplate template;
    readonly string?[] idToToken;
    readonly bool[] special;
    readonly Dictionary<string, int> addedTokens;
    readonly bool cleanUpTokenizationSpaces;

    HfTokenizer(string folder, JsonElement root, TokenizerConfig config)
    {
        var json = new JsonFields(Path.Combine(folder, TokenizerFile));
        if (!JsonFields.Has(root, "model"))
            throw json.Error("model", "required key is missing; a tokenizer.json needs a \"model\" object (vocab and merges)");
        normalizer = Normalizers.Create(json.Optional(root, "normalizer"), json, "normalizer");
        preTokenizer = PreTokenizers.Create(json.Optional(root, "pre_tokenizer"), json, "pre_tokenizer");
        model = BpeModel.Create(root.GetProperty("model"), json);
        decoder = Decoders.Create(json.Optional(root, "decoder"), json, "decoder");
        var processor = SpecialTokenTemplate.Create(json.Optional(root, "post_processor"), json, "post_processor");

        var added = ReadAddedTokens(root, json);
        addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in added) addedTokens.TryAdd(t.Content, t.Id);

        // transformers registers the config's special tokens as special added tokens, so a name that only the
        // model vocabulary knows (or that was added as a normal token) is matched whole and skipped as special.
        var specialNames = new[] { config.BosToken, config.EosToken, config.UnkToken, config.PadToken }
            .Concat(config.AdditionalSpecialTokens).OfType<string>().Distinct().ToList();
        foreach (string name in specialNames)
        {
            if (addedTokens.ContainsKey(name) || !model.Vocab.TryGetValue(name, out int id)) continue;
            added.Add(new AddedToken(id, name, Special: true, Normalized: false, false, false, false));
            addedTokens[name] = id;
        }

        int size = 0;
        foreach (int id in model.Vocab.Values) size = Math.Max(size, id + 1);
        foreach (var t in added) size = Math.Max(size, t.Id + 1);
        idToToken = new string?[size];
        foreach (var (token, id) in model.Vocab) idToToken[id] ??= token;
        special = new bool[size];
        foreach (var t in added)
        {
            idToToken[t.Id] = t.Content; // an added token overrides the model's entry for its id
            if (t.Special) special[t.Id] = true;
        }
        foreach (string name in specialNames)
            if (TokenToId(name) is { } id) special[id] = true;

        addedVocabulary = new AddedVocabulary(added, normalizer);
        cleanUpTokenizationSpaces = config.CleanUpTokenizationSpaces;

        BosToken = config.BosToken;
        EosToken = config.EosToken;
        PadToken = config.PadToken;
        UnkToken = config.UnkToken ?? model.UnkToken;
        BosTokenId = BosToken is null ? null : TokenToId(BosToken);
        EosTokenId = EosToken is null ? null : TokenToId(EosToken);
        PadTokenId = PadToken is null ? null : TokenToId(PadToken);
        EosTokenIds = new[] { EosTokenId }.OfType<int>().Concat(config.GenerationEosTokenIds).Distinct().ToArray();
        ChatTemplate = config.ChatTemplate;
        template = ApplyAddBosEos(processor, config);
        AddBosToken = BosTokenId is { } bos && template.Prefix.Length > 0 && template.Prefix[0] == bos;
        AddEosToken = EosTokenId is { } eos && template.Suffix.Length > 0 && template.Suffix[^1] == eos;
        Streaming = StreamingProfile.Of(root, json);
    }

    /// <summary>
    /// Loads the tokenizer in <paramref name="folder"/>. Throws <see cref="FileNotFoundException"/> when
    /// tokenizer.json is missing and <see cref="InvalidDataException"/> (naming the file and JSON path) when a
    /// file is malformed or uses a component this implementation does not support.
    /// </summary>
    public static HfTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Tokenizer folder '{folder}' does not exist.");
        string file = Path.Combine(folder, TokenizerFile);
        if (!File.Exists(file))
            throw new FileNotFoundException(
                $"{file}: not found. A tokenizer folder needs tokenizer.json (the 'fast' tokenizer file that transformers saves); " +
                "folders with only tokenizer.model or vocab.json/merges.txt are not supported.", file);
        var root = TokenizerConfig.ReadObject(file)!.Value;
        return new HfTokenizer(folder, root, TokenizerConfig.Load(folder));
    }

    /// <summary>One more than the largest id of the vocabulary and added tokens (HF's len(tokenizer) when ids are contiguous).</summary>
    public int VocabSize => idToToken.Length;

    /// <summary>The beginning-of-sequence token named by the config (null for Qwen).</summary>
    public string? BosToken { get; }

    /// <summary>The end-of-sequence token named by the config (e.g. &lt;|im_end|&gt; for Qwen3 chat models).</summary>
    public string? EosToken { get; }

    /// <summary>The padding token named by the config, or null (then callers pick one, e.g. the EOS token).</summary>
    public string? PadToken { get; }

    /// <summary>The unknown token (config, else the BPE model's unk_token), or null for byte-level models.</summary>
    public string? UnkToken { get; }

    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }

    /// <summary>Ids that end generation: the config's eos token, then generation_config.json's eos_token_id(s).</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The Jinja chat template (tokenizer_config.json's chat_template, "default" of a list, or chat_template.jinja).</summary>
    public string? ChatTemplate { get; }

    /// <summary>Whether <c>Encode(text)</c> starts with the BOS token.</summary>
    public bool AddBosToken { get; }

    /// <summary>Whether <c>Encode(text)</c> ends with the EOS token.</summary>
    public bool AddEosToken { get; }

    /// <summary>Added tokens (special or not) by content.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens => addedTokens;

    internal StreamingProfile Streaming { get; }

    internal BpeModel Model => model;

    /// <summary>The id of a token (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token)
    {
        if (addedTokens.TryGetValue(token, out int id)) return id;
        return model.Vocab.TryGetValue(token, out id) ? id : null;
    }

    /// <summary>The token string of an id, or null when the id is unknown.</summary>
    public string? IdToToken(int id) => id >= 0 && id < idToToken.Length ? idToToken[id] : null;

    /// <summary>Whether the id is a special token (dropped by <c>skipSpecialTokens</c>).</summary>
    public bool IsSpecial(int id) => id >= 0 && id < special.Length && special[id];

    /// <summary>
    /// Token ids of <paramref name="text"/>. With <paramref name="addSpecialTokens"/> the tokenizer's own
    /// special tokens (e.g. BOS for Llama/Gemma, none for Qwen) are added, as transformers' <c>tokenizer(text)</c>.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(template.Prefix);
        foreach (var (start, end, token) in addedVocabulary.SplitRaw(text))
        {
            if (token is not null)
            {
                ids.Add(token.Id);
                continue;
            }
            string piece = text[start..end];
            string normalized = normalizer?.Normalize(piece) ?? piece;
            foreach (var (s, e, inner) in addedVocabulary.SplitNormalized(normalized))
            {
                if (inner is not null)
                {
                    ids.Add(inner.Id);
                    continue;
                }
                var words = new List<PreToken> { new(normalized[s..e], start == 0 && s == 0) };
                if (preTokenizer is not null) words = preTokenizer.PreTokenize(words);
                foreach (var word in words) model.Encode(word.Text, ids);
            }
        }
        if (addSpecialTokens) ids.AddRange(template.Suffix);
        return ids;
    }

    /// <summary>
    /// The text of <paramref name="ids"/>, as transformers' <c>decode</c>: ids unknown to the tokenizer are
    /// skipped, special tokens too when <paramref name="skipSpecialTokens"/> is set.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
            if (StreamToken(id, skipSpecialTokens) is { } token) tokens.Add(token);
        return DecodeTokens(tokens, DecodeSpan.Whole);
    }

    /// <summary>A decoder for generated ids that yields text as soon as it is final; see <see cref="StreamingDetokenizer"/>.</summary>
    public StreamingDetokenizer CreateStreamingDecoder(bool skipSpecialTokens) => new(this, skipSpecialTokens);

    /// <summary>The token string that takes part in decoding, or null when the id is skipped.</summary>
    internal string? StreamToken(int id, bool skipSpecialTokens) =>
        skipSpecialTokens && IsSpecial(id) ? null : IdToToken(id);

    /// <summary>The decoder chain and clean-up over a run of tokens.</summary>
    internal string DecodeTokens(List<string> tokens, DecodeSpan span)
    {
        string text;
        if (decoder is null)
        {
            // HF joins with spaces when there is no decoder; a window after the start continues that join.
            text = string.Join(' ', tokens);
            if (!span.AtStart && tokens.Count > 0) text = " " + text;
        }
        else
        {
            bool fused = false;
            text = string.Concat(decoder.Decode(tokens, span, ref fused));
        }
        return cleanUpTokenizationSpaces ? CleanUp(text) : text;
    }

    /// <summary>Whether <see cref="DecodeTokens"/> applies transformers' clean_up_tokenization.</summary>
    internal bool CleansUpSpaces => cleanUpTokenizationSpaces;

    /// <summary>transformers' clean_up_tokenization: drops the space before punctuation and English contractions.</summary>
    internal static string CleanUp(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal).Replace(" 're", "'re", StringComparison.Ordinal);

    static List<AddedToken> ReadAddedTokens(JsonElement root, JsonFields json)
    {
        var list = new List<AddedToken>();
        if (!JsonFields.Has(root, "added_tokens")) return list;
        var array = root.GetProperty("added_tokens");
        if (array.ValueKind != JsonValueKind.Array)
            throw json.Error("added_tokens", $"expected a list, found {JsonFields.Describe(array)}");
        int i = 0;
        foreach (var t in array.EnumerateArray())
        {
            string at = $"added_tokens[{i++}]";
            int id = json.RequiredInt(json.Required(t, "id", at), at + ".id");
            if (id < 0) throw json.Error(at + ".id", "token ids must not be negative");
            bool isSpecial = json.OptionalBool(t, "special", at, false);
            list.Add(new AddedToken(id, json.RequiredString(t, "content", at), isSpecial,
                json.OptionalBool(t, "normalized", at, !isSpecial), json.OptionalBool(t, "lstrip", at, false),
                json.OptionalBool(t, "rstrip", at, false), json.OptionalBool(t, "single_word", at, false)));
        }
        return list;
    }

    /// <summary>
    /// tokenizer_config.json's add_bos_token / add_eos_token, when given, decide whether BOS / EOS surround a
    /// sequence (transformers rebuilds the post-processor from them); the rest of the template is kept.
    /// </summary>
    SpecialTokenTemplate ApplyAddBosEos(SpecialTokenTemplate processor, TokenizerConfig config)
    {
        bool hasBos = BosTokenId is { } b && processor.Prefix.Length > 0 && processor.Prefix[0] == b;
        bool hasEos = EosTokenId is { } e && processor.Suffix.Length > 0 && processor.Suffix[^1] == e;
        bool wantBos = (config.AddBosToken ?? hasBos) && BosTokenId is not null;
        bool wantEos = (config.AddEosToken ?? hasEos) && EosTokenId is not null;
        if (wantBos == hasBos && wantEos == hasEos) return processor;
        int[] prefix = hasBos ? processor.Prefix[1..] : processor.Prefix;
        int[] suffix = hasEos ? processor.Suffix[..^1] : processor.Suffix;
        return new SpecialTokenTemplate(wantBos ? [BosTokenId!.Value, .. prefix] : prefix, wantEos ? [.. suffix, EosTokenId!.Value] : suffix);
    }

    /// <summary>A lone surrogate cannot be UTF-8 encoded; like .NET's encoder (and Rust strings), it becomes U+FFFD.</summary>
    static string ReplaceLoneSurrogates(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            var sb = new StringBuilder(text.Length);
            foreach (var rune in text.EnumerateRunes()) sb.Append(rune.ToString());
            return sb.ToString();
        }
        return text;
    }
}
