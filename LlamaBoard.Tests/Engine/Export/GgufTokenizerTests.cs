using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Tests.Engine.Tokenization;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// The tokenizer written into GGUF files tokenizes like the Hugging Face tokenizer it came from, in llama.cpp:
/// byte-level BPE with merges and the pre-tokenizer name (Qwen 3, Llama 3), SentencePiece-style BPE with the
/// merge-rank scores and space-prefix flag (Llama 2 / Mistral, Gemma 3).
/// </summary>
public class GgufTokenizerTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Tokenizers() => new()
    {
        { "qwen3", "qwen3" },
        { "llama", "llama3" },
        { "mistral", "llama2" },
        { "gemma3_text", "gemma3" },
    };

    static readonly string[] Texts =
    [
        "Hello world! The quick brown fox jumps over the lazy dog.",
        "  leading spaces, double  spaces and a trailing space ",
        "def main():\n    return x ** 2  # squares\n\n\ttabbed",
        "数字 12345 和 3.14159, Ünïcödé café naïve 東京",
        "emoji 🦙🚀 and mixed-case WORDS, don't we'll I'M",
        "line one\nline two\r\nthree",
    ];

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Llama_cpp_tokenizes_like_the_source_tokenizer(string family, string tokenizerName)
    {
        Torch.EnsureReady();
        var tokenizer = TokenizerPackages.Load(tokenizerName);
        var export = GgufModels.Export(family, GgmlType.F32);
        using var llama = LlamaCpp.Load(export.GgufPath);
        var specials = tokenizer.AddedTokens.Where(t => tokenizer.IsSpecial(t.Value)).Select(t => t.Key).Take(2).ToList();
        foreach (string text in Texts.Append($"{string.Join(" x ", specials)} after specials"))
        {
            var expected = tokenizer.Encode(text);
            var actual = llama.Tokenize(text, addBos: tokenizer.AddBosToken);
            output.WriteLine($"{tokenizerName}: {expected.Count} tokens for {text.ReplaceLineEndings("⏎")}");
            Assert.True(expected.SequenceEqual(actual),
                $"{tokenizerName} '{text}':\n  transformers {string.Join(" ", expected)}\n  llama.cpp    {string.Join(" ", actual)}");
        }
    }

    [Fact]
    public void Token_metadata_follows_the_tokenizer()
    {
        var qwen = GgufReader.Read(GgufModels.Export("qwen3", GgmlType.F32).GgufPath);
        Assert.Equal("gpt2", qwen.Metadata["tokenizer.ggml.model"]);
        Assert.Equal("qwen2", qwen.Metadata["tokenizer.ggml.pre"]);
        var tokenizer = TokenizerPackages.Load("qwen3");
        var tokens = (object[])qwen.Metadata["tokenizer.ggml.tokens"];
        var types = (object[])qwen.Metadata["tokenizer.ggml.token_type"];
        int imEnd = tokenizer.TokenToId("<|im_end|>")!.Value;
        Assert.Equal("<|im_end|>", tokens[imEnd]);
        Assert.Equal((int)GgufTokenType.Control, types[imEnd]);
        Assert.Equal((uint)imEnd, qwen.Metadata["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(false, qwen.Metadata["tokenizer.ggml.add_bos_token"]);
        Assert.Equal(tokenizer.ChatTemplate, qwen.Metadata["tokenizer.chat_template"]);
        Assert.StartsWith("Ġ ", (string)((object[])qwen.Metadata["tokenizer.ggml.merges"])[0], StringComparison.Ordinal);

        var llama3 = GgufReader.Read(GgufModels.Export("llama", GgmlType.F32).GgufPath);
        Assert.Equal("llama-bpe", llama3.Metadata["tokenizer.ggml.pre"]);

        var gemma = GgufReader.Read(GgufModels.Export("gemma3_text", GgmlType.F32).GgufPath);
        Assert.Equal("llama", gemma.Metadata["tokenizer.ggml.model"]);
        Assert.Equal(false, gemma.Metadata["tokenizer.ggml.add_space_prefix"]);
        Assert.Equal(true, gemma.Metadata["tokenizer.ggml.add_bos_token"]);
        var gemmaTokens = (object[])gemma.Metadata["tokenizer.ggml.tokens"];
        var gemmaTypes = (object[])gemma.Metadata["tokenizer.ggml.token_type"];
        int newline = Array.IndexOf(gemmaTokens, "<0x0A>");
        Assert.Equal((int)GgufTokenType.Byte, gemmaTypes[newline]);

        var mistral = GgufReader.Read(GgufModels.Export("mistral", GgmlType.F32).GgufPath);
        Assert.Equal(true, mistral.Metadata["tokenizer.ggml.add_space_prefix"]);
        Assert.Equal(0u, mistral.Metadata["tokenizer.ggml.unknown_token_id"]);
    }
}
