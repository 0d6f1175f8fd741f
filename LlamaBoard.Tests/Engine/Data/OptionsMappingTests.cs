using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Tests.Engine.Data;

public class OptionsMappingTests
{
    [Fact]
    public void The_options_model_maps_onto_the_pipeline_options()
    {
        var options = new LlamaBoardOptions();
        options.Data.Dataset = ["a", "b"];
        options.Data.EvalDataset = ["c"];
        options.Data.DatasetDir = "/d";
        options.Data.Template = "qwen3";
        options.Data.CutoffLen = 777;
        options.Data.MaxSamples = 9;
        options.Data.NeatPacking = true;
        options.Data.TrainOnPrompt = true;
        options.Data.MixStrategy = MixStrategy.InterleaveOnce;
        options.Data.InterleaveProbs = [0.3, 0.7];
        options.Data.EnableThinking = null;
        options.Data.PreserveThinking = true;
        options.Data.ToolFormat = "qwen";
        options.Data.DefaultSystem = "sys";
        options.Data.TokenizedPath = "/t";
        options.Training.Seed = 5;
        var d = DataPipelineOptions.From(options);
        Assert.Equal(["a", "b"], d.Dataset);
        Assert.Equal(["c"], d.EvalDataset);
        Assert.Equal(("/d", "qwen3", 777, 9), (d.DatasetDir, d.Template, d.CutoffLen, d.MaxSamples));
        Assert.True(d.NeatPacking && d.TrainOnPrompt && d.PreserveThinking && d.EnableThinking);
        Assert.Equal(("interleave_once", 5, "qwen", "sys", "/t"), (d.MixStrategy, d.Seed, d.ToolFormat, d.DefaultSystem, d.TokenizedPath));
        Assert.Equal([0.3, 0.7], d.InterleaveProbs!);
        Assert.True(d.PackingFor(DataStage.Supervised));
    }

    [Theory]
    [InlineData(TrainingStage.Pretrain, false, DataStage.Pretrain)]
    [InlineData(TrainingStage.Sft, false, DataStage.Supervised)]
    [InlineData(TrainingStage.Sft, true, DataStage.Unsupervised)]
    [InlineData(TrainingStage.Reward, false, DataStage.Pairwise)]
    [InlineData(TrainingStage.Dpo, false, DataStage.Pairwise)]
    [InlineData(TrainingStage.Kto, false, DataStage.Feedback)]
    [InlineData(TrainingStage.Ppo, false, DataStage.Unsupervised)]
    public void Training_stages_map_onto_data_stages(TrainingStage stage, bool generate, DataStage expected) =>
        Assert.Equal(expected, DataStages.From(stage, generate));

    [Fact]
    public void Interleave_once_uses_every_example_exactly_once()
    {
        IReadOnlyList<IReadOnlyList<int>> sets = [[.. Enumerable.Range(0, 50)], [.. Enumerable.Range(100, 10)], [.. Enumerable.Range(200, 5)]];
        var mixed = DatasetMixer.Mix(sets, "interleave_once", [0.5, 0.3, 0.2], 3);
        Assert.Equal(65, mixed.Count);
        Assert.Equal(sets.SelectMany(s => s).Order(), mixed.Order());
        Assert.Equal(Enumerable.Range(0, 50), mixed.Where(x => x < 100)); // each dataset keeps its order
        Assert.Equal([0, 100, 200, 1, 101, 201], DatasetMixer.Mix(sets, "interleave_once", null, 3).Take(6));
    }

    [Fact]
    public void Preserve_thinking_keeps_earlier_thoughts()
    {
        var template = ChatTemplates.Get("qwen3") with { PreserveThinking = true };
        ChatMessage[] messages = [new(ChatRole.User, "Q1"), new(ChatRole.Assistant, "<think>\nwhy\n</think>\n\nA1"),
                                  new(ChatRole.User, "Q2"), new(ChatRole.Assistant, "A2")];
        var turns = TemplateFormatter.FormatMultiturn(template, messages, "", "");
        Assert.Equal("<think>\nwhy\n</think>\n\nA1<|im_end|>\n", TemplateFormatter.ToText(turns[0].Response, null, ""));
    }

    [Fact]
    public void Tokenized_path_is_written_once_then_used_as_is()
    {
        using var data = new TempDataFolder();
        using var saved = new TempDataFolder();
        using var cache = new TempDataFolder();
        data.Write("dataset_info.json", """{"d": {"file_name": "d.jsonl"}}""");
        data.Write("d.jsonl", "{\"instruction\": \"q\", \"output\": \"a\"}\n{\"instruction\": \"r\", \"output\": \"b\"}\n");
        var options = new DataPipelineOptions
        {
            DatasetDir = data.Path, Dataset = ["d"], Template = "qwen", TokenizedPath = saved.Path, TokenizedCacheDir = cache.Path,
        };
        var first = DataPipeline.Prepare(options, DataStage.Supervised, CharTokenizer.ChatMl(), "char");
        Assert.False(first.FromCache);
        Assert.True(File.Exists(Path.Combine(saved.Path, TokenizedCache.TokenizedPathFile)));

        // The saved copy is used even when the data folder is gone, as LLaMA-Factory does.
        var elsewhere = options with { DatasetDir = Path.Combine(data.Path, "missing"), Dataset = ["other"] };
        var second = DataPipeline.Prepare(elsewhere, DataStage.Supervised, CharTokenizer.ChatMl(), "char");
        Assert.True(second.FromCache);
        Assert.Equal(first.Train.Select(s => s.Main.InputIds), second.Train.Select(s => s.Main.InputIds));
        var e = Assert.Throws<DatasetException>(() => DataPipeline.Prepare(elsewhere, DataStage.Unsupervised, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("holds data for stage sft", e.Message);
    }
}
