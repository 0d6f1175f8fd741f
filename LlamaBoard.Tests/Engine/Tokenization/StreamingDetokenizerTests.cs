using System.Text;
using System.Text.Json;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

public class StreamingDetokenizerTests
{
    public static TheoryData<string> Tokenizers() => new(TokenizerPackages.Names);

    static (List<string> Deltas, string Flushed) Stream(HfTokenizer tokenizer, IEnumerable<int> ids, bool skip)
    {
        var decoder = tokenizer.CreateStreamingDecoder(skip);
        var deltas = ids.Select(decoder.Add).ToList();
        return (deltas, decoder.Flush());
    }

    static IEnumerable<string> GoldenTexts(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerPackages.FixturesFolder, "goldens", name + ".json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToList();
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Deltas_join_to_the_full_decode_and_never_break_a_character(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        foreach (string text in GoldenTexts(name))
        {
            var ids = tokenizer.Encode(text);
            foreach (bool skip in new[] { false, true })
            {
                var (deltas, flushed) = Stream(tokenizer, ids, skip);
                Assert.Equal(tokenizer.Decode(ids, skip), string.Concat(deltas) + flushed);
                Assert.All(deltas, d => Assert.DoesNotContain('\uFFFD', d));
                // Every delta is valid UTF-16 on its own (no half surrogate pair).
                Assert.All(deltas, d => Assert.Equal(d, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(d))));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Random_ids_stream_exactly_even_when_bytes_are_invalid(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7FFF);
        // Byte-ish ids (the first few hundred hold byte tokens or byte symbols) make broken sequences likely.
        for (int run = 0; run < 200; run++)
        {
            var ids = Enumerable.Range(0, random.Next(1, 30))
                .Select(_ => random.Next(3) == 0 ? random.Next(tokenizer.VocabSize) : random.Next(Math.Min(400, tokenizer.VocabSize)))
                .ToList();
            foreach (bool skip in new[] { false, true })
            {
                var (deltas, flushed) = Stream(tokenizer, ids, skip);
                Assert.Equal(tokenizer.Decode(ids, skip), string.Concat(deltas) + flushed);
            }
        }
    }

    [Fact]
    public void Byte_level_characters_appear_as_soon_as_their_last_byte_does()
    {
        var tokenizer = TokenizerPackages.Load("qwen3");
        var decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: false);
        var text = new StringBuilder();
        foreach (string piece in new[] { "龘", "𰻞", "👨‍👩‍👧", "x" })
        {
            var ids = tokenizer.Encode(piece, addSpecialTokens: false);
            // The rare characters take several byte tokens; none of their bytes may show before the last one.
            Assert.True(ids.Count > 1 || piece == "x", $"'{piece}' should take several byte tokens");
            if (piece is "龘" or "𰻞") Assert.Equal("", decoder.Add(ids[0]));
            else text.Append(decoder.Add(ids[0]));
            for (int i = 1; i < ids.Count; i++) text.Append(decoder.Add(ids[i]));
            Assert.EndsWith(piece, text.ToString());
        }
        Assert.Equal("龘𰻞👨‍👩‍👧x", text.ToString());
        Assert.Equal("", decoder.Flush());
    }

    [Theory]
    [InlineData("llama2")]
    [InlineData("gemma3")]
    public void Byte_fallback_runs_are_held_until_the_run_ends(string name)
    {
        var tokenizer = TokenizerPackages.Load(name);
        var ids = tokenizer.Encode("Hi 𰻞 there", addSpecialTokens: false);
        int firstByte = ids.ToList().FindIndex(id => Decoders.TryParseByteToken(tokenizer.IdToToken(id)!, out _));
        Assert.True(firstByte > 0, "the rare character should fall back to byte tokens");
        Assert.Equal(4, ids.Skip(firstByte).TakeWhile(id => Decoders.TryParseByteToken(tokenizer.IdToToken(id)!, out _)).Count());

        var decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: false);
        string before = string.Concat(ids.Take(firstByte).Select(decoder.Add));
        var during = ids.Skip(firstByte).Take(4).Select(decoder.Add).ToList();
        string after = decoder.Add(ids[firstByte + 4]);

        Assert.Equal("Hi ", before);
        Assert.All(during, d => Assert.Equal("", d));
        Assert.StartsWith("𰻞", after);
    }

    [Fact]
    public void Flush_releases_an_unfinished_character_as_decode_does()
    {
        var tokenizer = TokenizerPackages.Load("llama2");
        var ids = tokenizer.Encode("ok 𰻞", addSpecialTokens: false).SkipLast(1).ToList(); // cut the last byte
        var (deltas, flushed) = Stream(tokenizer, ids, skip: false);

        Assert.Equal("ok ", string.Concat(deltas));
        Assert.Equal("\uFFFD\uFFFD\uFFFD", flushed); // HF: one U+FFFD per byte token of an invalid run
        Assert.Equal(tokenizer.Decode(ids), string.Concat(deltas) + flushed);
    }

    [Fact]
    public void Clean_up_of_llama3_is_exact_across_token_boundaries()
    {
        var tokenizer = TokenizerPackages.Load("llama3");
        // clean_up_tokenization_spaces is on for this file: " n't" and " ." lose their space only once complete.
        foreach (string text in new[] { "I do n't know .", "He said ' hi ' , then left !", "we 've and they 're" })
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: false);
            var (deltas, flushed) = Stream(tokenizer, ids, skip: false);
            Assert.Equal(tokenizer.Decode(ids), string.Concat(deltas) + flushed);
        }
        Assert.Equal("I don't know.", tokenizer.Decode(tokenizer.Encode("I do n't know .", addSpecialTokens: false)));
    }
}
