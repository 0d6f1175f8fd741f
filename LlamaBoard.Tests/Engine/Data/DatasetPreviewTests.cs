using LlamaBoard.Engine.Data;

namespace LlamaBoard.Tests.Engine.Data;

public class DatasetPreviewTests
{
    static DataPipelineOptions Demo => new() { DatasetDir = RepositoryPaths.DemoData, Template = "qwen" };

    [Fact]
    public void Preview_marks_learned_and_masked_spans_with_token_counts()
    {
        var preview = DatasetPreview.Preview(Demo, "sharegpt_demo", DataStage.Supervised, 3, CharTokenizer.ChatMl());
        Assert.Equal(3, preview.Count);
        var first = preview[0];
        Assert.Equal(0, first.RecordIndex);
        Assert.Contains("\"conversations\"", first.Raw);
        Assert.Equal(4, first.Example!.Messages.Count);
        var input = Assert.Single(first.Sequences);
        Assert.Equal([false, true, false, true], input.Spans.Select(s => s.Learned));
        Assert.StartsWith("<|im_start|>system\nYou are Qwen", input.Spans[0].Text);
        Assert.StartsWith("Start in the Alfama district", input.Spans[1].Text);
        Assert.EndsWith("<|im_end|>\n", input.Spans[1].Text);
        Assert.Equal(input.Tokens, input.Spans.Sum(s => s.Tokens));
        Assert.Equal(input.LearnedTokens, input.Spans.Where(s => s.Learned).Sum(s => s.Tokens));
        Assert.Contains("<tool_call>", preview[2].Sequences[0].Spans[1].Text); // tool call rendered in qwen's format
    }

    [Fact]
    public void Preview_without_a_tokenizer_shows_converted_records_and_errors()
    {
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """{"d": {"file_name": "d.jsonl"}}""");
        folder.Write("d.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": 3}\n{\"instruction\": \"e\", \"output\": \"f\"}\n");
        var preview = DatasetPreview.Preview(new DataPipelineOptions { DatasetDir = folder.Path }, "d", DataStage.Supervised, 2);
        Assert.Equal(2, preview.Count);
        Assert.Empty(preview[0].Sequences);
        Assert.NotNull(preview[0].Example);
        Assert.Null(preview[1].Example);
        Assert.Contains("field 'output'", preview[1].Error);
        Assert.Equal(2, preview[1].Line);
    }

    [Fact]
    public void Preview_shows_both_responses_of_a_preference_pair()
    {
        var preview = DatasetPreview.Preview(Demo, "dpo_demo", DataStage.Pairwise, 1, CharTokenizer.ChatMl());
        Assert.Equal(["chosen", "rejected"], preview[0].Sequences.Select(s => s.Name));
        Assert.Contains("6½ minutes", preview[0].Sequences[0].Spans.Single(s => s.Learned).Text);
        Assert.Contains("15 minutes", preview[0].Sequences[1].Spans.Single(s => s.Learned).Text);
    }
}
