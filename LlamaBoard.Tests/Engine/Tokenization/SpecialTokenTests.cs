using System.Text.Json.Nodes;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

public sealed class SpecialTokenTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("llamaboard-special-tok-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Qwen3_chat_tokens()
    {
        var t = TokenizerPackages.Load("qwen3");

        Assert.Equal(151643, t.TokenToId("<|endoftext|>"));
        Assert.Equal(151644, t.TokenToId("<|im_start|>"));
        Assert.Equal(151645, t.TokenToId("<|im_end|>"));
        Assert.Equal(151667, t.TokenToId("<think>"));
        Assert.Equal("<|im_end|>", t.EosToken);
        Assert.Equal(151645, t.EosTokenId);
        Assert.Equal(151643, t.PadTokenId);
        Assert.Null(t.BosTokenId);
        Assert.False(t.AddBosToken);
        Assert.True(t.IsSpecial(151644));
        Assert.False(t.IsSpecial(151667)); // <think> is an added token, but not a special one
        Assert.Equal(26, t.AddedTokens.Count);
        Assert.Equal(151669, t.VocabSize);
        Assert.Contains("<|im_start|>", t.ChatTemplate);

        var ids = t.Encode("<|im_start|>user\nhi<|im_end|><think>x</think>");
        Assert.Equal(151644, ids[0]);
        Assert.Contains(151645, ids);
        Assert.Equal("user\nhi<think>x</think>", t.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|im_start|>user\nhi<|im_end|><think>x</think>", t.Decode(ids));
    }

    [Fact]
    public void Llama2_and_gemma3_add_bos_and_llama3_file_does_not()
    {
        var llama2 = TokenizerPackages.Load("llama2");
        Assert.True(llama2.AddBosToken);
        Assert.Equal(1, llama2.Encode("hello")[0]);
        Assert.NotEqual(1, llama2.Encode("hello", addSpecialTokens: false)[0]);
        Assert.Equal("<unk>", llama2.UnkToken);
        Assert.Equal([2], llama2.EosTokenIds);

        var gemma = TokenizerPackages.Load("gemma3");
        Assert.Equal(2, gemma.BosTokenId);
        Assert.Equal("<end_of_turn>", gemma.EosToken);
        Assert.Equal(106, gemma.EosTokenId);
        Assert.Equal(0, gemma.PadTokenId);
        Assert.Equal(2, gemma.Encode("hi")[0]);
        Assert.Contains("<start_of_turn>", gemma.ChatTemplate);

        // This package's tokenizer.json has only a ByteLevel post-processor and its config sets no add_bos_token.
        var llama3 = TokenizerPackages.Load("llama3");
        Assert.Equal(128000, llama3.BosTokenId);
        Assert.False(llama3.AddBosToken);
        Assert.NotEqual(128000, llama3.Encode("hi")[0]);
        Assert.Equal(128009, llama3.TokenToId("<|eot_id|>"));
        Assert.True(llama3.IsSpecial(128009));
    }

    [Fact]
    public void Byte_fallback_decode_replaces_every_byte_of_an_invalid_run()
    {
        var t = TokenizerPackages.Load("llama2");
        int e4 = t.TokenToId("<0xE4>")!.Value, bd = t.TokenToId("<0xBD>")!.Value, a0 = t.TokenToId("<0xA0>")!.Value;
        int hello = t.TokenToId("▁Hello")!.Value;

        // HF's Rust ByteFallback decoder: a run that is not valid UTF-8 becomes one U+FFFD per byte token.
        Assert.Equal("\uFFFD\uFFFD Hello", t.Decode([e4, bd, hello]));
        Assert.Equal("你 Hello", t.Decode([e4, bd, a0, hello]));
        Assert.Equal("Hello", t.Decode([hello])); // Strip removes the one leading space of the text
    }

    [Fact]
    public void Unknown_ids_are_skipped_in_decode_as_in_hf()
    {
        var t = TokenizerPackages.Load("qwen3");
        var ids = t.Encode("hello").Append(151900).Append(-1).ToList(); // 151900: padded embedding row, no token
        Assert.Equal("hello", t.Decode(ids));
        Assert.Null(t.IdToToken(151900));
    }

    [Fact]
    public void Generation_config_eos_ids_are_added()
    {
        TinyTokenizer.Write(folder);
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{ "eos_token_id": [509, 507], "bos_token_id": null }""");

        Assert.Equal([509, 507], HfTokenizer.Load(folder).EosTokenIds);
    }

    [Fact]
    public void Add_eos_token_in_the_config_wraps_sequences()
    {
        TinyTokenizer.Write(folder);
        EditConfig(c => c["add_eos_token"] = true);
        var t = HfTokenizer.Load(folder);

        Assert.True(t.AddEosToken);
        Assert.Equal(509, t.Encode("hi")[^1]);
        Assert.NotEqual(509, t.Encode("hi", addSpecialTokens: false)[^1]);
    }

    [Fact]
    public void Chat_template_list_takes_the_default_entry()
    {
        TinyTokenizer.Write(folder);
        EditConfig(c => c["chat_template"] = new JsonArray(
            new JsonObject { ["name"] = "tool_use", ["template"] = "TOOLS" },
            new JsonObject { ["name"] = "default", ["template"] = "DEFAULT" }));

        Assert.Equal("DEFAULT", HfTokenizer.Load(folder).ChatTemplate);
    }

    [Fact]
    public void Chat_template_jinja_file_is_read_when_the_config_has_none()
    {
        TinyTokenizer.Write(folder);
        EditConfig(c => c.Remove("chat_template"));
        File.WriteAllText(Path.Combine(folder, "chat_template.jinja"), "{{ messages }}");

        Assert.Equal("{{ messages }}", HfTokenizer.Load(folder).ChatTemplate);
    }

    void EditConfig(Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "tokenizer_config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
