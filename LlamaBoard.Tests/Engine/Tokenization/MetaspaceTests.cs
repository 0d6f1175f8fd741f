using System.Text.Json.Nodes;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>
/// The Metaspace pre-tokenizer and decoder (older Llama/Mistral conversions), on a hand-made vocabulary, with
/// expectations worked out from the rules of HF's Rust implementation (pre_tokenizers/metaspace.rs).
/// </summary>
public sealed class MetaspaceTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("llamaboard-metaspace-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    HfTokenizer Build(string prependScheme, bool split)
    {
        string[] tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "c", "▁a", "▁b", "ab", "▁ab", "▁▁", "<0x41>", "a▁"];
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Length; i++) vocab[tokens[i]] = i;
        JsonObject Metaspace() => new() { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = prependScheme, ["split"] = split };
        var root = new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["pre_tokenizer"] = Metaspace(),
            ["decoder"] = Metaspace(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["unk_token"] = "<unk>", ["fuse_unk"] = true, ["byte_fallback"] = false, ["vocab"] = vocab,
                ["merges"] = new JsonArray("a ▁", "▁ a", "▁ b", "a b", "▁a b", "▁ ▁"),
            },
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), root.ToJsonString());
        return HfTokenizer.Load(folder);
    }

    [Fact]
    public void Prepend_always_prefixes_every_piece_between_added_tokens()
    {
        var t = Build("always", split: false);
        // "ab b" → "▁ab▁b": ▁+a (rank 1), ▁+b (rank 2), then ▁a+b (rank 4) → ▁ab ▁b.
        Assert.Equal([10, 8], t.Encode("ab b"));
        // After <s> the next piece is prefixed again; unknown characters fuse into one <unk>.
        Assert.Equal([1, 7, 0], t.Encode("<s>axyz"));
    }

    [Fact]
    public void Prepend_first_prefixes_only_text_that_starts_the_input()
    {
        var t = Build("first", split: false);
        Assert.Equal([7], t.Encode("a"));
        Assert.Equal([1, 4], t.Encode("<s>a"));
        Assert.Equal([7, 1, 4], t.Encode("a<s>a"));
    }

    [Fact]
    public void Split_cuts_before_each_replacement_character()
    {
        // "a b" → "▁a▁b". As one word the top-ranked merge a+▁ crosses the word boundary; split into "▁a", "▁b"
        // it cannot.
        Assert.Equal([3, 13, 5], Build("always", split: false).Encode("a b"));
        Assert.Equal([7, 8], Build("always", split: true).Encode("a b"));
    }

    [Fact]
    public void Decoder_drops_every_replacement_character_of_the_first_token_only()
    {
        var t = Build("always", split: false);
        Assert.Equal("a b", t.Decode([7, 8]));
        Assert.Equal("ab", t.Decode([11, 9]));   // "▁▁" first: both go (Rust drops them all in token 0)
        Assert.Equal("<s> a", t.Decode([1, 7]));
        Assert.Equal("a", t.Decode([1, 7], skipSpecialTokens: true));

        var stream = t.CreateStreamingDecoder(skipSpecialTokens: false);
        Assert.Equal("a b a", string.Concat(new[] { 7, 8, 7 }.Select(stream.Add)) + stream.Flush());
    }
}
