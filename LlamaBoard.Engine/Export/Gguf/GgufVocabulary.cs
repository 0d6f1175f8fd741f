using System.Text.Json;
using System.Text.RegularExpressions;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>Token types of <c>tokenizer.ggml.token_type</c> (llama.cpp's llama_token_type).</summary>
public enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// The <c>tokenizer.*</c> keys of a GGUF file, built from a Hugging Face tokenizer folder: byte-level BPE
/// vocabularies (Llama 3, Qwen) become <c>tokenizer.ggml.model = gpt2</c> with merges and the pre-tokenizer name
/// llama.cpp knows the split pattern by; SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma)
/// becomes <c>llama</c> with scores that reproduce the merge order (−rank of the first merge making the token).
/// </summary>
public static partial class GgufVocabulary
{
    /// <summary>llama.cpp's pre-tokenizer names (tokenizer.ggml.pre) for the split patterns it implements.</summary>
    static readonly (string Pattern, string Name)[] PreTokenizers =
    [
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", "qwen2"),
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", "llama-bpe"),
    ];

    /// <summary>
    /// Adds the keys for <paramref name="tokenizer"/>, loaded from <paramref name="folder"/>, with
    /// <paramref name="vocabSize"/> embedding rows (ids the tokenizer does not use become unused "[PADn]" tokens).
    /// </summary>
    /// <exception cref="GgufExportException">The tokenizer kind, its pre-tokenizer or its size has no GGUF form.</exception>
    public static void Add(GgufMetadata metadata, HfTokenizer tokenizer, string folder, int vocabSize)
    {
        string file = Path.Combine(folder, HfTokenizer.TokenizerFile);
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        var root = document.RootElement;
        var model = root.GetProperty("model");
        if (tokenizer.VocabSize > vocabSize)
            throw new GgufExportException(
                $"{file} has {tokenizer.VocabSize} tokens but the model's embedding has only {vocabSize} rows (vocab_size); " +
                "llama.cpp needs one row per token. Resize the embedding (resize_vocab) before exporting.");

        bool byteLevel = UsesByteLevel(root);
        bool byteFallback = model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;
        if (!byteLevel && !byteFallback)
            throw new GgufExportException(
                $"{file}: the tokenizer is neither byte-level BPE (gpt2 style) nor SentencePiece-style BPE with byte_fallback, " +
                "the two kinds GGUF export writes (tokenizer.ggml.model gpt2 or llama).");

        var (tokens, types) = TokensAndTypes(tokenizer, vocabSize, byteFallback && !byteLevel);
        var merges = ReadMerges(model, file);
        metadata.Set("tokenizer.ggml.model", GgufValue.String(byteLevel ? "gpt2" : "llama"));
        if (byteLevel)
        {
            metadata.Set("tokenizer.ggml.pre", GgufValue.String(PreTokenizerName(root, file)));
            metadata.Set("tokenizer.ggml.tokens", GgufValue.Strings(tokens));
            metadata.Set("tokenizer.ggml.token_type", GgufValue.Int32s(types.Select(t => (int)t).ToList()));
            metadata.Set("tokenizer.ggml.merges", GgufValue.Strings(merges.Select(m => $"{m.Left} {m.Right}").ToList()));
        }
        else
        {
            metadata.Set("tokenizer.ggml.pre", GgufValue.String("default"));
            metadata.Set("tokenizer.ggml.tokens", GgufValue.Strings(tokens));
            metadata.Set("tokenizer.ggml.scores", GgufValue.Float32s(Scores(tokens, merges)));
            metadata.Set("tokenizer.ggml.token_type", GgufValue.Int32s(types.Select(t => (int)t).ToList()));
            metadata.Set("tokenizer.ggml.add_space_prefix", GgufValue.Bool(AddsSpacePrefix(tokenizer)));
        }

        if (tokenizer.BosTokenId is { } bos) metadata.Set("tokenizer.ggml.bos_token_id", GgufValue.UInt32((uint)bos));
        if (tokenizer.EosTokenId is { } eos) metadata.Set("tokenizer.ggml.eos_token_id", GgufValue.UInt32((uint)eos));
        // generation_config.json may end generation on more ids (Llama 3: <|eot_id|>); llama.cpp takes one as end-of-turn.
        if (tokenizer.EosTokenIds.Where(id => id != tokenizer.EosTokenId).Take(1).ToList() is [int eot])
            metadata.Set("tokenizer.ggml.eot_token_id", GgufValue.UInt32((uint)eot));
        if (tokenizer.UnkToken is { } unk && tokenizer.TokenToId(unk) is { } unkId)
            metadata.Set("tokenizer.ggml.unknown_token_id", GgufValue.UInt32((uint)unkId));
        if (tokenizer.PadTokenId is { } pad) metadata.Set("tokenizer.ggml.padding_token_id", GgufValue.UInt32((uint)pad));
        metadata.Set("tokenizer.ggml.add_bos_token", GgufValue.Bool(tokenizer.AddBosToken));
        metadata.Set("tokenizer.ggml.add_eos_token", GgufValue.Bool(tokenizer.AddEosToken));
        if (tokenizer.ChatTemplate is { } template) metadata.Set("tokenizer.chat_template", GgufValue.String(template));
    }

    static bool UsesByteLevel(JsonElement root)
    {
        static bool Has(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.Object => (element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "ByteLevel")
                                    || element.EnumerateObject().Any(p => Has(p.Value)),
            JsonValueKind.Array => element.EnumerateArray().Any(Has),
            _ => false,
        };
        return root.TryGetProperty("pre_tokenizer", out var pre) && Has(pre);
    }

    /// <summary>The llama.cpp pre-tokenizer whose split pattern equals the tokenizer's.</summary>
    static string PreTokenizerName(JsonElement root, string file)
    {
        var patterns = new List<string>();
        void Collect(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray()) Collect(item);
                return;
            }
            if (element.ValueKind != JsonValueKind.Object) return;
            string? type = element.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "Split" && element.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var regex))
                patterns.Add(regex.GetString()!);
            if (type == "ByteLevel" && element.TryGetProperty("use_regex", out var use) && use.ValueKind == JsonValueKind.True)
                patterns.Add("gpt-2");
            if (element.TryGetProperty("pretokenizers", out var children)) Collect(children);
        }
        Collect(root.GetProperty("pre_tokenizer"));
        if (patterns.Count == 1)
        {
            if (patterns[0] == "gpt-2") return "gpt-2";
            foreach (var (pattern, name) in PreTokenizers)
                if (patterns[0] == pattern) return name;
        }
        throw new GgufExportException(
            $"{file}: llama.cpp has no pre-tokenizer for this split pattern ({(patterns.Count == 0 ? "none" : string.Join(" then ", patterns))}); " +
            $"GGUF export knows {string.Join(", ", PreTokenizers.Select(p => p.Name).Append("gpt-2"))} (Qwen 2/3, Llama 3, GPT-2).");
    }

    static (List<string> Tokens, List<GgufTokenType> Types) TokensAndTypes(HfTokenizer tokenizer, int vocabSize, bool sentencePiece)
    {
        var tokens = new List<string>(vocabSize);
        var types = new List<GgufTokenType>(vocabSize);
        var added = new HashSet<int>(tokenizer.AddedTokens.Values);
        int? unk = tokenizer.UnkToken is { } u ? tokenizer.TokenToId(u) : null;
        for (int id = 0; id < vocabSize; id++)
        {
            string? token = tokenizer.IdToToken(id);
            if (token is null)
            {
                tokens.Add($"[PAD{id}]");
                types.Add(GgufTokenType.Unused);
                continue;
            }
            tokens.Add(token);
            types.Add(id == unk ? GgufTokenType.Unknown
                : tokenizer.IsSpecial(id) || (added.Contains(id) && LooksSpecial(token)) ? GgufTokenType.Control
                : added.Contains(id) ? GgufTokenType.UserDefined
                : sentencePiece && ByteToken().IsMatch(token) ? GgufTokenType.Byte
                : GgufTokenType.Normal);
        }
        return (tokens, types);
    }

    /// <summary>Added tokens written like "&lt;|im_start|&gt;" act as control tokens even when not flagged special.</summary>
    static bool LooksSpecial(string token) =>
        token.Length > 4 && token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal);

    [GeneratedRegex("^<0x[0-9A-F]{2}>$")]
    private static partial Regex ByteToken();

    static List<(string Left, string Right)> ReadMerges(JsonElement model, string file)
    {
        var result = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array) return result;
        int i = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ', 1);
                if (space < 0) throw new GgufExportException($"{file}: model.merges[{i}] \"{text}\" is not two tokens separated by a space.");
                result.Add((text[..space], text[(space + 1)..]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2)
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
            else
                throw new GgufExportException($"{file}: model.merges[{i}] is neither \"a b\" nor [\"a\", \"b\"].");
            i++;
        }
        return result;
    }

    /// <summary>
    /// SentencePiece scores for llama.cpp's merge loop, which joins the adjacent pair whose joined token scores
    /// highest: −(1 + rank of the first merge producing the token) gives transformers' lowest-rank-first order.
    /// Tokens no merge produces get a score below every merge, so the loop joins into them last if at all.
    /// </summary>
    static List<float> Scores(List<string> tokens, List<(string Left, string Right)> merges)
    {
        const float NotMerged = -1e9f;
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < merges.Count; r++) rank.TryAdd(merges[r].Left + merges[r].Right, r);
        return tokens.Select(t => rank.TryGetValue(t, out int r) ? -(float)r - 1 : NotMerged).ToList();
    }

    /// <summary>Whether the tokenizer puts "▁" before the first word (Llama 2 does, Gemma does not).</summary>
    static bool AddsSpacePrefix(HfTokenizer tokenizer)
    {
        var ids = tokenizer.Encode("a", addSpecialTokens: false);
        return ids.Count > 0 && tokenizer.IdToToken(ids[0]) is { } first && first.StartsWith('\u2581');
    }
}
