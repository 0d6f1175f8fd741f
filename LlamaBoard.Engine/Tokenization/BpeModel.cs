using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// The BPE model of tokenizer.json, with HF's exact merge order: the lowest-ranked adjacent pair merges first,
/// the leftmost on ties. Covers byte-level vocabularies (Llama 3, Qwen) and SentencePiece-style ones with
/// <c>byte_fallback</c> (Llama 2, Mistral, Gemma: a character missing from the vocabulary becomes its UTF-8
/// bytes as <c>&lt;0xNN&gt;</c> tokens), <c>fuse_unk</c>, <c>ignore_merges</c>, continuing-subword prefix and
/// end-of-word suffix.
/// </summary>
internal sealed class BpeModel
{
    /// <summary>Words up to this many UTF-16 units are cached (longer ones are rare and would bloat the cache).</summary>
    const int MaxCachedWordLength = 64;
    const int MaxCacheEntries = 100_000;

    readonly Dictionary<string, int> vocab;
    readonly Dictionary<long, (int Rank, int NewId)> merges;
    readonly int? unkId;
    readonly bool fuseUnk;
    readonly bool byteFallback;
    readonly bool ignoreMerges;
    readonly string? continuingSubwordPrefix;
    readonly string? endOfWordSuffix;
    readonly int[]? byteTokenIds;
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);

    // Fast paths, built when there is no subword prefix/suffix (true of every modern decoder-only model):
    // ids of one-character tokens, and the character pairs that occur inside some token. No merge can join two
    // symbols across a position whose pair never occurs inside a token, so a long word may be cut there.
    readonly int[]? charIds;
    readonly Dictionary<int, int>? supplementaryIds;
    readonly HashSet<int>? innerPairs;

    BpeModel(Dictionary<string, int> vocab, Dictionary<long, (int, int)> merges, int? unkId, bool fuseUnk,
        bool byteFallback, bool ignoreMerges, string? prefix, string? suffix, int[]? byteTokenIds)
    {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        continuingSubwordPrefix = prefix;
        endOfWordSuffix = suffix;
        this.byteTokenIds = byteTokenIds;
        if (prefix is null && suffix is null)
        {
            charIds = new int[char.MaxValue + 1];
            Array.Fill(charIds, -1);
            supplementaryIds = [];
            innerPairs = [];
            foreach (var (token, id) in vocab)
            {
                if (token.Length == 1) charIds[token[0]] = id;
                else if (token.Length == 2 && char.IsSurrogatePair(token[0], token[1])) supplementaryIds[char.ConvertToUtf32(token[0], token[1])] = id;
                for (int i = 1; i < token.Length; i++) innerPairs.Add(Pair(token[i - 1], token[i]));
            }
        }
    }

    static int Pair(char left, char right) => (left << 16) | right;

    /// <summary>token → id of the model's own vocabulary (without added tokens).</summary>
    public IReadOnlyDictionary<string, int> Vocab => vocab;

    public string? UnkToken { get; private init; }

    public bool ByteFallback => byteFallback;

    /// <summary>Reads the "model" object of tokenizer.json; only type BPE is supported.</summary>
    public static BpeModel Create(JsonElement model, JsonFields json)
    {
        const string path = "model";
        // Very old files omit "type" on a BPE model; HF then infers it from the presence of merges.
        string type = JsonFields.Has(model, "type") ? json.TypeOf(model, path) : (JsonFields.Has(model, "merges") ? "BPE" : "?");
        if (type != "BPE")
            throw json.Error(JsonFields.Join(path, "type"),
                $"model type '{type}' is not supported; supported: BPE (byte-level or SentencePiece-style with byte_fallback)");
        if (JsonFields.Has(model, "dropout") && model.GetProperty("dropout") is { ValueKind: JsonValueKind.Number } d && d.GetDouble() > 0)
            throw json.Error(JsonFields.Join(path, "dropout"), "BPE dropout is a training-time option and is not supported; set it to null");

        var vocabJson = json.Required(model, "vocab", path);
        if (vocabJson.ValueKind != JsonValueKind.Object)
            throw json.Error("model.vocab", $"expected an object of token → id, found {JsonFields.Describe(vocabJson)}");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabJson.EnumerateObject())
        {
            int id = json.RequiredInt(entry.Value, $"model.vocab[\"{entry.Name}\"]");
            if (id < 0) throw json.Error($"model.vocab[\"{entry.Name}\"]", "token ids must not be negative");
            vocab[entry.Name] = id;
        }

        string? prefix = json.OptionalString(model, "continuing_subword_prefix", path);
        string? suffix = json.OptionalString(model, "end_of_word_suffix", path);
        if (prefix?.Length == 0) prefix = null;
        if (suffix?.Length == 0) suffix = null;
        var merges = ReadMerges(json.RequiredArray(model, "merges", path), vocab, prefix, json);

        string? unk = json.OptionalString(model, "unk_token", path);
        int? unkId = null;
        if (unk is not null)
        {
            if (!vocab.TryGetValue(unk, out int id))
                throw json.Error("model.unk_token", $"the unknown token \"{unk}\" is not in model.vocab");
            unkId = id;
        }

        bool byteFallback = json.OptionalBool(model, "byte_fallback", path, false);
        int[]? byteIds = null;
        if (byteFallback)
        {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++)
                byteIds[b] = vocab.TryGetValue(ByteToken((byte)b), out int id) ? id : -1;
        }

        return new BpeModel(vocab, merges, unkId, json.OptionalBool(model, "fuse_unk", path, false), byteFallback,
            json.OptionalBool(model, "ignore_merges", path, false), prefix, suffix, byteIds)
        { UnkToken = unk };
    }

    /// <summary>The SentencePiece byte token for <paramref name="value"/>, e.g. "&lt;0x0A&gt;".</summary>
    public static string ByteToken(byte value) => $"<0x{value:X2}>";

    static Dictionary<long, (int, int)> ReadMerges(JsonElement list, Dictionary<string, int> vocab, string? prefix, JsonFields json)
    {
        var merges = new Dictionary<long, (int, int)>(list.GetArrayLength());
        int rank = 0;
        foreach (var item in list.EnumerateArray())
        {
            string at = $"model.merges[{rank}]";
            string left, right;
            if (item.ValueKind == JsonValueKind.String)
            {
                // The older format: "left right", exactly one space.
                string[] parts = item.GetString()!.Split(' ');
                if (parts.Length != 2)
                    throw json.Error(at, $"a merge must be two tokens separated by one space, found \"{item.GetString()}\"");
                (left, right) = (parts[0], parts[1]);
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2
                     && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (item[0].GetString()!, item[1].GetString()!);
            }
            else
            {
                throw json.Error(at, $"a merge must be \"left right\" or [\"left\", \"right\"], found {JsonFields.Describe(item)}");
            }

            if (!vocab.TryGetValue(left, out int a))
                throw json.Error(at, $"the merge refers to \"{left}\", which is not in model.vocab");
            if (!vocab.TryGetValue(right, out int b))
                throw json.Error(at, $"the merge refers to \"{right}\", which is not in model.vocab");
            string merged = prefix is not null && right.StartsWith(prefix, StringComparison.Ordinal)
                ? left + right[prefix.Length..] : left + right;
            if (!vocab.TryGetValue(merged, out int newId))
                throw json.Error(at, $"the merged token \"{merged}\" is not in model.vocab");
            // As in HF, a repeated pair takes its last rank.
            merges[Key(a, b)] = (rank, newId);
            rank++;
        }
        return merges;
    }

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word to <paramref name="output"/>.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (ignoreMerges && vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        if (word.Length > MaxCachedWordLength && innerPairs is not null) EncodeInSegments(word, output);
        else EncodeCached(word, output);
    }

    void EncodeCached(string word, List<int> output)
    {
        if (word.Length <= MaxCachedWordLength && cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var ids = MergeWord(word);
        if (word.Length <= MaxCachedWordLength)
        {
            if (cache.Count >= MaxCacheEntries) cache.Clear();
            cache.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    /// <summary>
    /// A long word (SentencePiece models see a whole sentence as one) cut where no token can span, each part
    /// merged on its own: the same result as merging the whole word, since no merge ever crosses such a cut,
    /// but the parts are short and mostly cached.
    /// </summary>
    void EncodeInSegments(string word, List<int> output)
    {
        int start = 0;
        for (int i = 1; i < word.Length; i++)
        {
            if (char.IsSurrogatePair(word[i - 1], word[i]) || innerPairs!.Contains(Pair(word[i - 1], word[i]))) continue;
            // Characters missing from the vocabulary become byte tokens or unk, whose merges follow other rules.
            if (SingleSymbolId(word, char.IsLowSurrogate(word[i - 1]) && i >= 2 ? i - 2 : i - 1) < 0 || SingleSymbolId(word, i) < 0) continue;
            EncodeCached(word[start..i], output);
            start = i;
        }
        EncodeCached(word[start..], output);
    }

    /// <summary>The id of the one-character token for the code point at <paramref name="index"/>, or -1.</summary>
    int SingleSymbolId(string word, int index)
    {
        char c = word[index];
        if (index + 1 < word.Length && char.IsSurrogatePair(c, word[index + 1]))
            return supplementaryIds!.TryGetValue(char.ConvertToUtf32(c, word[index + 1]), out int id) ? id : -1;
        return charIds![c];
    }

    /// <summary>The whole word merged in one piece, never cut (for tests of <see cref="EncodeInSegments"/>).</summary>
    internal int[] MergeWhole(string word) => MergeWord(word);

    /// <summary>Initial symbols (one per character, byte tokens or unk where needed), then all merges.</summary>
    int[] MergeWord(string word)
    {
        var symbols = new List<int>(word.Length);
        (int Id, bool Pending) unk = (0, false);
        int i = 0;
        while (i < word.Length)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            if (charIds is not null && SingleSymbolId(word, i) is var known && known >= 0)
            {
                // Fast path without a substring: the character is a token of its own.
                if (unk.Pending) symbols.Add(unk.Id);
                unk.Pending = false;
                symbols.Add(known);
                i += length;
                continue;
            }
            string symbol = word.Substring(i, length);
            bool isFirst = i == 0;
            i += length;
            bool isLast = i >= word.Length;
            if (!isFirst && continuingSubwordPrefix is not null) symbol = continuingSubwordPrefix + symbol;
            if (isLast && endOfWordSuffix is not null) symbol += endOfWordSuffix;

            if (vocab.TryGetValue(symbol, out int id))
            {
                if (unk.Pending) symbols.Add(unk.Id);
                unk.Pending = false;
                symbols.Add(id);
                continue;
            }
            if (byteFallback && TryAddBytes(symbol, symbols)) continue;
            if (unkId is { } u)
            {
                // fuse_unk folds a run of unknown characters into one unk token.
                if (unk.Pending && !fuseUnk) symbols.Add(unk.Id);
                unk = (u, true);
            }
            // Without an unk token HF drops the character.
        }
        if (unk.Pending) symbols.Add(unk.Id);
        return MergeAll(symbols);
    }

    bool TryAddBytes(string symbol, List<int> symbols)
    {
        var bytes = Encoding.UTF8.GetBytes(symbol);
        foreach (byte b in bytes)
            if (byteTokenIds![b] < 0) return false;
        foreach (byte b in bytes) symbols.Add(byteTokenIds![b]);
        return true;
    }

    /// <summary>
    /// Merges by rank with a priority queue over a linked list of symbols, so a long word (SentencePiece models
    /// see a whole sentence as one word) costs O(n log n), not O(n²).
    /// </summary>
    int[] MergeAll(List<int> initial)
    {
        int n = initial.Count;
        if (n < 2) return [.. initial];
        var ids = initial.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int k = 0; k < n; k++)
        {
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
            alive[k] = true;
        }

        // Priority: rank first, then position (leftmost wins ties), packed in one long.
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        for (int k = 0; k + 1 < n; k++)
            if (merges.TryGetValue(Key(ids[k], ids[k + 1]), out var m)) queue.Enqueue((k, m.NewId), Priority(m.Rank, k));

        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            // A stale entry: the pair at pos changed since it was queued.
            if (!merges.TryGetValue(Key(ids[pos], ids[right]), out var current) || current.NewId != top.NewId) continue;

            ids[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;

            if (prev[pos] >= 0 && merges.TryGetValue(Key(ids[prev[pos]], ids[pos]), out var left))
                queue.Enqueue((prev[pos], left.NewId), Priority(left.Rank, prev[pos]));
            if (next[pos] >= 0 && merges.TryGetValue(Key(ids[pos], ids[next[pos]]), out var after))
                queue.Enqueue((pos, after.NewId), Priority(after.Rank, pos));
        }

        var result = new List<int>(n);
        for (int k = 0; k >= 0; k = next[k]) result.Add(ids[k]);
        return [.. result];
    }

    static long Priority(int rank, int pos) => ((long)rank << 32) | (uint)pos;
}
