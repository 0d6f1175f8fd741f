using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Tests.Engine.Inference;

public sealed class TextStreamingTests
{
    static string Feed(StopStringMatcher matcher, IEnumerable<string> deltas) =>
        string.Concat(deltas.Select(matcher.Push)) + matcher.Flush();

    [Fact]
    public void Stop_strings_split_across_deltas_are_found_and_never_released()
    {
        var matcher = new StopStringMatcher(["STOP", "\n\n"]);
        var released = new List<string>();
        foreach (string delta in new[] { "Hello ST", "O", "P and more" }) released.Add(matcher.Push(delta));
        Assert.Equal(["Hello ", "", ""], released);
        Assert.True(matcher.Stopped);
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void A_held_prefix_that_does_not_become_a_stop_string_is_released()
    {
        Assert.Equal("I said STO and left", Feed(new StopStringMatcher(["STOP"]), ["I said ST", "O", " and left"]));
        Assert.Equal("ends with ST", Feed(new StopStringMatcher(["STOP"]), ["ends with S", "T"]));
        Assert.Equal("a", Feed(new StopStringMatcher(["bc", "b"]), ["a", "b", "c"]));
    }

    static (string Thought, string Answer) Split(IEnumerable<string> deltas)
    {
        var splitter = new ThoughtSplitter("<think>\n", "\n</think>\n\n");
        var pieces = deltas.SelectMany(splitter.Push).Concat(splitter.Flush()).ToList();
        return (string.Concat(pieces.Where(p => p.Part == ReplyPart.Thought).Select(p => p.Text)),
                string.Concat(pieces.Where(p => p.Part == ReplyPart.Answer).Select(p => p.Text)));
    }

    [Theory]
    [InlineData(new[] { "<think>\nplan\n</think>\n\nanswer" }, "plan", "answer")]
    [InlineData(new[] { "<th", "ink>\npl", "an\n</th", "ink>\n", "\nans", "wer" }, "plan", "answer")]
    [InlineData(new[] { "<think>", "\n", "plan", "\n", "</think>", "\n\n", "answer" }, "plan", "answer")]
    [InlineData(new[] { "<think>\n\n</think>\n\n", "just this" }, "", "just this")]
    [InlineData(new[] { "no thought here" }, "", "no thought here")]
    [InlineData(new[] { "<thinking is a verb" }, "", "<thinking is a verb")]
    [InlineData(new[] { "<think>\nstill thinking" }, "still thinking", "")]
    [InlineData(new[] { "<think>\nline one\n\nline two\n</think>\n\nok" }, "line one\n\nline two", "ok")]
    public void Thoughts_are_split_from_answers_whatever_the_deltas(string[] deltas, string thought, string answer) =>
        Assert.Equal((thought, answer), Split(deltas));
}
