using System.Text.Json.Nodes;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>Added-token matching options, following HF's AddedVocabulary (tokenizer/added_vocabulary.rs).</summary>
public sealed class AddedTokenTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("llamaboard-added-tok-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    HfTokenizer WithAddedToken(string content, bool normalized = false, bool lstrip = false, bool rstrip = false, bool singleWord = false)
    {
        TinyTokenizer.Write(folder);
        string path = Path.Combine(folder, "tokenizer.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["added_tokens"]!.AsArray().Add(new JsonObject
        {
            ["id"] = 600, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip,
            ["rstrip"] = rstrip, ["normalized"] = normalized, ["special"] = false,
        });
        File.WriteAllText(path, root.ToJsonString());
        return HfTokenizer.Load(folder);
    }

    static int Count(IReadOnlyList<int> ids, int id) => ids.Count(x => x == id);

    [Fact]
    public void Normalized_token_matches_after_normalization()
    {
        var t = WithAddedToken("cafe\u0301", normalized: true); // NFC turns it into "café"
        Assert.Equal(601, t.VocabSize);
        Assert.Equal(1, Count(t.Encode("I like cafe\u0301."), 600));
        Assert.Equal(1, Count(t.Encode("I like café."), 600));
        // Decoding gives the token's own content back, as HF does.
        Assert.Equal("I like cafe\u0301.", t.Decode(t.Encode("I like café.")));
    }

    [Fact]
    public void Raw_token_matches_only_the_exact_text()
    {
        var t = WithAddedToken("cafe\u0301", normalized: false);
        Assert.Equal(1, Count(t.Encode("cafe\u0301"), 600));
        Assert.Equal(0, Count(t.Encode("café"), 600));
    }

    [Fact]
    public void Single_word_token_needs_word_boundaries()
    {
        var t = WithAddedToken("llama", singleWord: true);
        Assert.Equal(1, Count(t.Encode("a llama here"), 600));
        Assert.Equal(1, Count(t.Encode("llama"), 600));
        Assert.Equal(0, Count(t.Encode("llamas"), 600));
        Assert.Equal(0, Count(t.Encode("allama"), 600));
    }

    [Fact]
    public void Lstrip_and_rstrip_absorb_neighbouring_whitespace()
    {
        var left = WithAddedToken("<x>", lstrip: true);
        Assert.Equal(left.Encode("a"), left.Encode("a   <x>").SkipLast(1));
        var right = WithAddedToken("<x>", rstrip: true);
        Assert.Equal(right.Encode("b"), right.Encode("<x> \t b").Skip(1));
    }

    [Fact]
    public void Longest_token_wins_at_the_same_start()
    {
        TinyTokenizer.Write(folder);
        string path = Path.Combine(folder, "tokenizer.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 600, ["content"] = "<|im_start|>x", ["special"] = false, ["normalized"] = false });
        File.WriteAllText(path, root.ToJsonString());
        var t = HfTokenizer.Load(folder);

        Assert.Equal([600], t.Encode("<|im_start|>x"));
        Assert.Equal(508, t.Encode("<|im_start|>y")[0]);
    }

    [Fact]
    public void Special_tokens_map_fills_names_missing_from_the_config()
    {
        TinyTokenizer.Write(folder);
        string config = Path.Combine(folder, "tokenizer_config.json");
        var root = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        root.Remove("eos_token");
        root.Remove("pad_token");
        File.WriteAllText(config, root.ToJsonString());
        var t = HfTokenizer.Load(folder);

        // special_tokens_map.json writes them as {"content": ...} objects.
        Assert.Equal("<|im_end|>", t.EosToken);
        Assert.Equal(509, t.EosTokenId);
        Assert.Equal(507, t.PadTokenId);
    }
}
