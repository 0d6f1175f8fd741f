using System.Text;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>The chat engine on a model that has memorised its replies, so every expected text is exact.</summary>
public sealed class ChatEngineTests
{
    static ChatRequest Ask(MemorizedTurn turn) => new() { Messages = turn.Messages, Tools = turn.Tools, EnableThinking = turn.EnableThinking };

    [Fact]
    public async Task Reasoning_replies_return_the_thought_apart_from_the_answer()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.Hello));
        Assert.Equal("A greeting is wanted.", reply.Thought);
        Assert.Equal("Hello there! Goodbye now.", reply.Text);
        Assert.Equal(FinishReason.Stop, reply.FinishReason);
        Assert.Equal(MemorizedChatModel.Hello.Response, reply.RawText);
        Assert.Empty(reply.ToolCalls);
    }

    [Fact]
    public async Task Enable_thinking_off_puts_the_empty_thought_in_the_prompt()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.NoThinking));
        Assert.Equal("Hi! No thinking today.", reply.Text);
        Assert.Null(reply.Thought);
        var thinking = await engine.ChatAsync(Ask(MemorizedChatModel.NoThinking) with { EnableThinking = true });
        Assert.Equal("Hello there! Goodbye now.", thinking.Text);
    }

    [Fact]
    public async Task Tool_calls_are_parsed_into_structured_calls()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.Weather));
        Assert.Equal(FinishReason.ToolCalls, reply.FinishReason);
        var call = Assert.Single(reply.ToolCalls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city": "Paris"}""", call.Arguments);
        Assert.Equal("", reply.Text);
    }

    [Fact]
    public async Task Function_and_observation_turns_reach_the_model_in_the_template()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.Observation));
        Assert.Equal("It is 21 degrees in Paris.", reply.Text);
        Assert.Empty(reply.ToolCalls);
        Assert.Equal(FinishReason.Stop, reply.FinishReason);
    }

    [Fact]
    public async Task Multi_turn_history_is_part_of_the_prompt()
    {
        using var engine = MemorizedChatModel.Engine();
        Assert.Equal("Your name is Ada.", (await engine.ChatAsync(Ask(MemorizedChatModel.Name))).Text);
    }

    [Fact]
    public async Task Stop_strings_end_the_reply_before_the_stop_text()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.Hello) with { Stop = ["Goodbye", "never"] });
        Assert.Equal("Hello there! ", reply.Text);
        Assert.Equal(FinishReason.Stop, reply.FinishReason);
    }

    [Fact]
    public async Task Max_new_tokens_ends_with_length()
    {
        using var engine = MemorizedChatModel.Engine();
        var reply = await engine.ChatAsync(Ask(MemorizedChatModel.Hello) with { MaxNewTokens = 3 });
        Assert.Equal(FinishReason.Length, reply.FinishReason);
        Assert.Equal(3, reply.CompletionTokens);
    }

    [Fact]
    public async Task Streaming_never_breaks_a_character_and_the_pieces_add_up_to_the_reply()
    {
        using var engine = MemorizedChatModel.Engine();
        var pieces = new List<ChatChunk>();
        await foreach (var chunk in engine.StreamAsync(Ask(MemorizedChatModel.Unicode))) pieces.Add(chunk);
        var final = pieces[^1].Final!;
        Assert.Equal("你好，世界！🌍 Привет, мир.", final.Text);
        var answer = pieces.Where(p => p.Part == ReplyPart.Answer && p.Final is null).Select(p => p.Text).ToList();
        Assert.True(answer.Count > 3, "the answer arrived in several pieces");
        foreach (string piece in answer)
        {
            for (int i = 0; i < piece.Length; i++)
            {
                if (char.IsHighSurrogate(piece[i])) Assert.True(i + 1 < piece.Length && char.IsLowSurrogate(piece[++i]), $"broken pair in '{piece}'");
                else Assert.False(char.IsLowSurrogate(piece[i]), $"broken pair in '{piece}'");
                Assert.NotEqual('\uFFFD', piece[i]);
            }
        }
        Assert.Equal(final.Text, string.Concat(answer));
    }

    [Fact]
    public async Task Streamed_thoughts_arrive_apart_from_the_answer()
    {
        using var engine = MemorizedChatModel.Engine();
        var thought = new StringBuilder();
        var answer = new StringBuilder();
        await foreach (var chunk in engine.StreamAsync(Ask(MemorizedChatModel.Hello)))
            (chunk.Part == ReplyPart.Thought ? thought : answer).Append(chunk.Text);
        Assert.Equal("A greeting is wanted.", thought.ToString());
        Assert.Equal("Hello there! Goodbye now.", answer.ToString());
    }

    [Fact]
    public async Task Leaving_a_stream_early_cancels_the_generation_and_frees_the_model()
    {
        using var engine = MemorizedChatModel.Engine();
        int pieces = 0;
        await foreach (var _ in engine.StreamAsync(Ask(MemorizedChatModel.Hello)))
            if (++pieces == 3) break;
        // The gate is free again as soon as the enumeration is left.
        Assert.Equal(1, engine.Host.Gate.CurrentCount);
    }

    [Fact]
    public async Task Cancelling_stops_at_the_next_token_with_reason_cancelled()
    {
        using var engine = MemorizedChatModel.Engine();
        // A long reply (hot sampling, fixed seed): the memorized one is so short that, on a busy machine, generation
        // can finish before the reader has even seen its first piece, and a finished reply has nothing left to stop.
        var request = Ask(MemorizedChatModel.Hello) with { DoSample = true, Temperature = 20, TopP = 1, Seed = 7, MaxNewTokens = 400 };
        var uncancelled = await engine.ChatAsync(request);
        Assert.True(uncancelled.CompletionTokens > 100, $"the uncancelled reply has only {uncancelled.CompletionTokens} tokens");

        using var cancel = new CancellationTokenSource();
        ChatResponse? final = null;
        await foreach (var chunk in engine.StreamAsync(request, cancel.Token))
        {
            cancel.Cancel();
            final = chunk.Final ?? final;
        }
        Assert.Equal(FinishReason.Cancelled, final!.FinishReason);
        Assert.True(final.CompletionTokens < uncancelled.CompletionTokens / 2,
                    $"{final.CompletionTokens} of {uncancelled.CompletionTokens} tokens generated despite the cancel");
    }

    [Theory]
    [InlineData(new[] { ChatRole.User, ChatRole.User, ChatRole.User }, "messages[1]")]
    [InlineData(new[] { ChatRole.Assistant }, "messages[0]")]
    [InlineData(new[] { ChatRole.User, ChatRole.Assistant }, "even number")]
    public async Task Malformed_conversations_are_refused_with_the_turn_named(ChatRole[] roles, string expected)
    {
        using var engine = MemorizedChatModel.Engine();
        var request = new ChatRequest { Messages = [.. roles.Select(r => new ChatMessage(r, "x"))] };
        var error = await Assert.ThrowsAsync<ChatRequestException>(() => engine.ChatAsync(request));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Unknown_models_and_bad_tools_are_refused()
    {
        using var engine = MemorizedChatModel.Engine();
        var unknown = await Assert.ThrowsAsync<ChatRequestException>(() => engine.ChatAsync(Ask(MemorizedChatModel.Hello) with { Model = "gpt-9" }));
        Assert.Equal("model", unknown.Parameter);
        Assert.Contains("memorized", unknown.Message);
        var tools = await Assert.ThrowsAsync<ChatRequestException>(() => engine.ChatAsync(Ask(MemorizedChatModel.Hello) with { Tools = "[{not json" }));
        Assert.Equal("tools", tools.Parameter);
    }
}
