using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>LLaMA-Factory's tool extractors: what they accept, what they leave as text, and the argument JSON they write.</summary>
public sealed class ToolCallParserTests
{
    [Fact]
    public void Qwen_reads_one_or_more_tool_call_blocks()
    {
        var calls = ToolCallParser.Parse("qwen",
            "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1,\"y\":[1,2]}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>");
        Assert.Equal([new ToolCall("a", "{\"x\": 1, \"y\": [1, 2]}"), new ToolCall("b", "{}")], calls);
    }

    [Theory]
    [InlineData("qwen", "Plain answer.")]
    [InlineData("qwen", "<tool_call>{\"name\": \"a\"}</tool_call>")]                            // no arguments
    [InlineData("qwen", "<tool_call>{broken</tool_call>")]
    [InlineData("qwen", "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call> and text after")] // must end the reply
    [InlineData("llama3", "{\"name\": \"a\"}")]
    [InlineData("llama3", "The answer is 42.")]
    [InlineData("default", "Action: a\nAction Input: not json")]
    public void Replies_that_do_not_parse_completely_stay_text(string format, string reply) =>
        Assert.Null(ToolCallParser.Parse(format, reply));

    [Fact]
    public void Llama3_reads_parameters_and_mistral_reads_arguments()
    {
        Assert.Equal([new ToolCall("get", "{\"q\": \"é\"}")], ToolCallParser.Parse("llama3", " {\"name\": \"get\", \"parameters\": {\"q\": \"é\"}} "));
        Assert.Equal([new ToolCall("a", "{}"), new ToolCall("b", "{\"n\": 2}")],
                     ToolCallParser.Parse("mistral", "[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"n\": 2}}]"));
    }

    [Fact]
    public void Default_reads_react_actions()
    {
        var calls = ToolCallParser.Parse("default", "Action: search\nAction Input: {\"q\": \"x\"}\nAction: fetch\nAction Input: ```{\"id\": 3}```");
        Assert.Equal([new ToolCall("search", "{\"q\": \"x\"}"), new ToolCall("fetch", "{\"id\": 3}")], calls);
    }
}
