using System.Text;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

public sealed class TinyTokenizerTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("llamaboard-tiny-tok-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Writes_a_folder_that_loads_with_its_special_tokens()
    {
        int size = TinyTokenizer.Write(folder);
        var tokenizer = HfTokenizer.Load(folder);

        Assert.Equal(512, size);
        Assert.Equal(size, tokenizer.VocabSize);
        Assert.Equal(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(507, tokenizer.TokenToId("<|endoftext|>"));
        Assert.Equal(508, tokenizer.TokenToId("<|im_start|>"));
        Assert.Equal(509, tokenizer.TokenToId("<|im_end|>"));
        Assert.Equal(510, tokenizer.TokenToId("<think>"));
        Assert.Equal(511, tokenizer.TokenToId("</think>"));
        Assert.Equal("<|im_end|>", tokenizer.EosToken);
        Assert.Equal(509, tokenizer.EosTokenId);
        Assert.Equal([509], tokenizer.EosTokenIds);
        Assert.Equal(507, tokenizer.PadTokenId);
        Assert.Null(tokenizer.BosToken);
        Assert.Null(tokenizer.BosTokenId);
        Assert.False(tokenizer.AddBosToken);
        Assert.True(tokenizer.IsSpecial(508));
        Assert.False(tokenizer.IsSpecial(510));
        Assert.False(tokenizer.IsSpecial(65));
        Assert.Equal(5, tokenizer.AddedTokens.Count);
        Assert.Contains("<|im_start|>' + message['role']", tokenizer.ChatTemplate);
        // The 256 byte symbols come first, in byte order.
        Assert.Equal("A", tokenizer.IdToToken(65));
        Assert.Equal("\u0120", tokenizer.IdToToken(32)); // the space byte's alphabet character
    }

    [Fact]
    public void Chat_markup_encodes_special_tokens_whole()
    {
        TinyTokenizer.Write(folder);
        var tokenizer = HfTokenizer.Load(folder);

        var ids = tokenizer.Encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello<|im_end|>");

        Assert.Equal(508, ids[0]);
        Assert.Equal(4, ids.Count(id => id is 508 or 509));
        Assert.Contains(510, ids);
        Assert.Contains(511, ids);
        Assert.Equal("user\nHi\nassistant\n<think>\n\n</think>\n\nHello", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Round_trips_arbitrary_unicode_text()
    {
        TinyTokenizer.Write(folder);
        var tokenizer = HfTokenizer.Load(folder);
        var random = new Random(1234);
        var samples = new List<string>
        {
            "", " ", "The llama carries loads in the mountains.", "羊驼是一种来自南美洲的家养动物。", "😀👨‍👩‍👧‍👦🇯🇵",
            "  code:\n\tif (x) {\r\n    return 1;\n  }\n", "Ünïcödé 𠀀𪚥 ∑ √2 \u0000\u001b[0m",
        };
        for (int n = 0; n < 200; n++) samples.Add(RandomText(random, random.Next(0, 40)));

        foreach (string text in samples)
        {
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, 511));
            // Byte-level BPE is lossless up to the NFC normalizer.
            Assert.Equal(text.Normalize(NormalizationForm.FormC), tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Learned_merges_compress_the_languages_it_was_trained_on()
    {
        TinyTokenizer.Write(folder);
        var tokenizer = HfTokenizer.Load(folder);

        // English words merge into a few tokens each; a common CJK character (3 bytes) into one or two.
        foreach (var (text, maxTokensPerByte) in new[] { ("The model learns to predict the next token.", 0.4), ("语言模型根据前面的词元来预测下一个词元。", 0.6) })
        {
            int bytes = Encoding.UTF8.GetByteCount(text);
            int tokens = tokenizer.Encode(text).Count;
            Assert.True(tokens < bytes * maxTokensPerByte, $"'{text}' took {tokens} tokens for {bytes} bytes");
        }
    }

    [Fact]
    public void Writing_is_deterministic_and_replaces_existing_files()
    {
        TinyTokenizer.Write(folder);
        var first = Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "stale");
        TinyTokenizer.Write(folder);
        var second = Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();

        Assert.Equal(3, second.Count); // no temporary files left behind
        Assert.Equal(first, second);
    }

    static string RandomText(Random random, int length)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            int cp = random.Next(6) switch
            {
                0 => random.Next(0x20, 0x7F),
                1 => random.Next(0x4E00, 0x9FFF),
                2 => random.Next(0x1F300, 0x1FAFF),
                3 => " \t\n\r"[random.Next(4)],
                4 => random.Next(0x80, 0x800),
                _ => random.Next(0x10000) is var c && (c < 0xD800 || c > 0xDFFF) ? c : 0x41,
            };
            sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }
}
