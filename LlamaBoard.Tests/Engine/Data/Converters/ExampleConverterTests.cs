using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Converters;
using LlamaBoard.Engine.Data.Readers;

namespace LlamaBoard.Tests.Engine.Data.Converters;

public class ExampleConverterTests
{
    static DataExample Convert(DatasetAttributes dataset, string json) =>
        ExampleConverter.Convert(dataset, "f.json", new SourceRecord(7, JsonNode.Parse(json)!.AsObject(), 12, null));

    static DatasetException Fails(DatasetAttributes dataset, string json) =>
        Assert.Throws<DatasetException>(() => Convert(dataset, json));

    static readonly DatasetAttributes Alpaca = new()
    {
        Name = "a", Location = "a.json",
        Columns = new DatasetColumns { History = "history", System = "system", Tools = "tools" },
    };

    [Fact]
    public void Alpaca_joins_instruction_and_input_and_unrolls_history()
    {
        var e = Convert(Alpaca, """
            {"instruction": "Translate", "input": "bonjour", "output": "hello", "system": "be terse",
             "history": [["hi", "hey"], ["how are you", "fine"]], "tools": [{"name": "f", "parameters": {}}]}
            """);
        Assert.Equal(
            [(ChatRole.User, "hi"), (ChatRole.Assistant, "hey"), (ChatRole.User, "how are you"), (ChatRole.Assistant, "fine"),
             (ChatRole.User, "Translate\nbonjour"), (ChatRole.Assistant, "hello")],
            e.Messages.Select(m => (m.Role, m.Content)));
        Assert.Equal("be terse", e.System);
        Assert.Equal("""[{"name":"f","parameters":{}}]""", e.Tools);
        Assert.Equal(new ExampleOrigin("a", "f.json", 7, 12), e.Origin);
        Assert.True(e.HasResponse);

        var noInput = Convert(Alpaca, """{"instruction": "Say hi", "input": "", "output": "hi"}""");
        Assert.Equal("Say hi", noInput.Messages[0].Content);
        var noResponse = Convert(Alpaca, """{"instruction": "Say hi"}""");
        Assert.False(noResponse.HasResponse);
    }

    [Fact]
    public void Alpaca_wrong_types_name_the_field()
    {
        var e = Fails(Alpaca, """{"instruction": "x", "output": 42}""");
        Assert.Equal("output", e.Field);
        Assert.Contains("expected a string, found a number", e.Message);
        Assert.Contains("record 7 (line 12)", e.Message);
        Assert.Contains("dataset 'a'", e.Message);

        e = Fails(Alpaca, """{"instruction": "x", "output": "y", "history": [["only one"]]}""");
        Assert.Equal("history", e.Field);
        Assert.Contains("history turn 0 must be a [prompt, response] pair", e.Message);

        e = Fails(Alpaca, """{"instruction": "x", "output": "y", "tools": "[not json"}""");
        Assert.Contains("tool descriptions are not valid JSON", e.Message);
    }

    [Fact]
    public void Alpaca_ranking_and_kto_records()
    {
        var ranking = Alpaca with { Ranking = true, Columns = new DatasetColumns { Chosen = "chosen", Rejected = "rejected" } };
        var pair = Convert(ranking, """{"instruction": "q", "chosen": "good", "rejected": "bad"}""");
        Assert.Single(pair.Messages);
        Assert.Equal(("good", "bad"), (pair.Chosen!.Content, pair.Rejected!.Content));
        var e = Fails(ranking, """{"instruction": "q", "chosen": "good"}""");
        Assert.Equal("rejected", e.Field);
        Assert.Contains("the rejected is missing", e.Message);

        var kto = Alpaca with { Columns = new DatasetColumns { KtoTag = "label" } };
        var liked = Convert(kto, """{"instruction": "q", "output": "a", "label": true}""");
        Assert.True(liked.KtoLabel);
        var disliked = Convert(kto, """{"instruction": "q", "output": "a", "label": "False"}""");
        Assert.False(disliked.KtoLabel);
        e = Fails(kto, """{"instruction": "q", "output": "a", "label": "maybe"}""");
        Assert.Contains("expected true or false", e.Message);
    }

    static readonly DatasetAttributes ShareGpt = new()
    {
        Name = "s", Location = "s.json", Formatting = DatasetFormatting.ShareGpt,
        Columns = new DatasetColumns { Messages = "conversations", System = "system", Tools = "tools" },
    };

    [Fact]
    public void ShareGpt_takes_a_leading_system_message_and_maps_tool_turns()
    {
        var e = Convert(ShareGpt, """
            {"conversations": [
              {"from": "system", "value": "You are helpful."},
              {"from": "human", "value": "Weather in Paris?"},
              {"from": "function_call", "value": "{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}"},
              {"from": "observation", "value": "{\"temp\": 21}"},
              {"from": "gpt", "value": "It is 21 degrees."}],
             "tools": "[{\"name\": \"weather\"}]"}
            """);
        Assert.Equal("You are helpful.", e.System);
        Assert.Equal([ChatRole.User, ChatRole.Function, ChatRole.Observation, ChatRole.Assistant], e.Messages.Select(m => m.Role));
        Assert.Equal("[{\"name\": \"weather\"}]", e.Tools);
    }

    [Theory]
    [InlineData("""[{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}]""", "message 0 is an assistant turn where a user or observation turn was expected")]
    [InlineData("""[{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]""", "message 1 is a user turn where an assistant or function-call turn was expected")]
    [InlineData("""[{"from": "human", "value": "a"}, {"from": "bot", "value": "b"}]""", "message 1 has role 'bot', which is none of the tags")]
    [InlineData("""[{"from": "human", "value": "a"}, {"from": "gpt"}]""", "message 1 has no 'value' (content) string")]
    [InlineData("""[{"from": "human", "value": "a"}, {"from": "system", "value": "b"}]""", "message 1 is a system message; only the first message may be one")]
    [InlineData("""[{"from": "system", "value": "s"}]""", "no messages after the system prompt")]
    public void ShareGpt_role_order_is_validated(string conversation, string expected)
    {
        var e = Fails(ShareGpt, $$"""{"conversations": {{conversation}}}""");
        Assert.Contains(expected, e.Message);
        Assert.Equal("conversations", e.Field);
    }

    [Fact]
    public void ShareGpt_ranking_candidates_must_be_assistant_messages()
    {
        var ranking = ShareGpt with { Ranking = true, Columns = ShareGpt.Columns with { Chosen = "chosen", Rejected = "rejected" } };
        var e = Convert(ranking, """
            {"conversations": [{"from": "human", "value": "q"}],
             "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}}
            """);
        Assert.Equal(("good", "bad"), (e.Chosen!.Content, e.Rejected!.Content));
        var bad = Fails(ranking, """
            {"conversations": [{"from": "human", "value": "q"}],
             "chosen": {"from": "human", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}}
            """);
        Assert.Contains("the chosen response has role 'human'", bad.Message);
    }

    static readonly DatasetAttributes OpenAi = new()
    {
        Name = "o", Location = "o.json", Formatting = DatasetFormatting.OpenAi,
        Columns = new DatasetColumns { Messages = "messages", Tools = "tools" }, Tags = DatasetTags.OpenAi,
    };

    [Fact]
    public void OpenAi_tool_calls_and_consecutive_tool_results_are_merged()
    {
        var e = Convert(OpenAi, """
            {"messages": [
              {"role": "system", "content": "sys"},
              {"role": "user", "content": [{"type": "text", "text": "Add "}, {"type": "text", "text": "these"}]},
              {"role": "assistant", "content": null, "tool_calls": [
                 {"type": "function", "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}},
                 {"type": "function", "function": {"name": "add", "arguments": "{\"a\": 3, \"b\": 4}"}}]},
              {"role": "tool", "content": "3"},
              {"role": "tool", "content": "7"},
              {"role": "assistant", "content": "3 and 7."}],
             "tools": [{"type": "function", "function": {"name": "add"}}]}
            """);
        Assert.Equal("sys", e.System);
        Assert.Equal("Add these", e.Messages[0].Content);
        Assert.Equal(ChatRole.Function, e.Messages[1].Role);
        Assert.Equal("""[{"name":"add","arguments":{"a":1,"b":2}},{"name":"add","arguments":{"a":3,"b":4}}]""", e.Messages[1].Content);
        Assert.Equal((ChatRole.Observation, "3\n</tool_response>\n<tool_response>\n7"), (e.Messages[2].Role, e.Messages[2].Content));
        Assert.Equal(ChatRole.Assistant, e.Messages[3].Role);
    }

    [Fact]
    public void OpenAi_bad_tool_arguments_and_roles_are_located()
    {
        var e = Fails(OpenAi, """
            {"messages": [{"role": "user", "content": "x"},
              {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}]}
            """);
        Assert.Contains("message 1: the arguments of tool call 'f' are not valid JSON", e.Message);
        e = Fails(OpenAi, """{"messages": [{"role": "user", "content": "x"}, {"role": "developer", "content": "y"}]}""");
        Assert.Contains("message 1 has role 'developer'", e.Message);
    }
}
