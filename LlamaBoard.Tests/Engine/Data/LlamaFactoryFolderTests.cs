using LlamaBoard.Engine.Data;
using Parquet.Schema;
using Parquet.Serialization;

namespace LlamaBoard.Tests.Engine.Data;

/// <summary>
/// A dataset folder laid out as LLaMA-Factory users have them (every file type and formatting, written here in
/// its schema) loads for every stage.
/// </summary>
public class LlamaFactoryFolderTests : IDisposable
{
    readonly TempDataFolder _folder = new();
    readonly TempDataFolder _cache = new();

    public LlamaFactoryFolderTests()
    {
        _folder.Write("dataset_info.json", """
        {
          "alpaca_en": {"file_name": "alpaca_en.json", "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}},
          "alpaca_csv": {"file_name": "alpaca.csv"},
          "glaive_toolcall": {"file_name": "glaive.jsonl", "formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}},
          "sharegpt_parquet": {"file_name": "sharegpt_parquet", "formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system"}},
          "openai_chat": {"file_name": "openai.json", "formatting": "openai", "columns": {"messages": "messages", "tools": "tools"}},
          "dpo_csv": {"file_name": "dpo.csv", "ranking": true, "columns": {"prompt": "instruction", "chosen": "chosen", "rejected": "rejected"}},
          "dpo_sharegpt": {"file_name": "dpo.jsonl", "formatting": "sharegpt", "ranking": true, "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
          "kto_alpaca": {"file_name": "kto.jsonl", "columns": {"prompt": "instruction", "response": "output", "kto_tag": "kto_tag"}},
          "c4_demo": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}},
          "wiki_hub": {"hf_hub_url": "someone/wiki", "columns": {"prompt": "text"}}
        }
        """);
        _folder.Write("alpaca_en.json", """
        [
          {"instruction": "Name a colour.", "input": "", "output": "Blue.", "system": "Answer briefly.", "history": []},
          {"instruction": "And another?", "input": "", "output": "Green.", "history": [["Name a colour.", "Blue."]]},
          {"instruction": "Translate", "input": "gato", "output": "cat"}
        ]
        """);
        _folder.Write("alpaca.csv", "instruction,input,output\n\"Add 2 and 3\",,5\n\"Say \"\"hello\"\"\",,Hello!\n");
        _folder.Write("glaive.jsonl", """
        {"conversations": [{"from": "human", "value": "Time in Tokyo?"}, {"from": "function_call", "value": "{\"name\": \"time\", \"arguments\": {\"tz\": \"Asia/Tokyo\"}}"}, {"from": "observation", "value": "{\"time\": \"09:00\"}"}, {"from": "gpt", "value": "It is 9 am."}], "tools": "[{\"name\": \"time\", \"description\": \"Current time\", \"parameters\": {\"type\": \"object\", \"properties\": {\"tz\": {\"type\": \"string\"}}, \"required\": [\"tz\"]}}]"}
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}], "tools": ""}
        """);
        WriteParquet(Path.Combine(_folder.Path, "sharegpt_parquet", "part-0.parquet"), 3, 0);
        WriteParquet(Path.Combine(_folder.Path, "sharegpt_parquet", "part-1.parquet"), 2, 3);
        _folder.Write("openai.json", """
        [{"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
         {"messages": [{"role": "user", "content": "Weather?"},
                       {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Rome\"}"}}]},
                       {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "Sunny in Rome."}],
          "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}]
        """);
        _folder.Write("dpo.csv", "instruction,chosen,rejected\nWhat is 3*3?,9,6\nCapital of Italy?,Rome,Milan\n");
        _folder.Write("dpo.jsonl", """
        {"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "Hello! How can I help?"}, "rejected": {"from": "gpt", "value": "What"}}
        """);
        _folder.Write("kto.jsonl", """
        {"instruction": "Color of the sky?", "output": "Blue.", "kto_tag": true}
        {"instruction": "Color of the sky?", "output": "Purple, always.", "kto_tag": false}
        """);
        _folder.Write("c4.jsonl", string.Join("\n", Enumerable.Range(0, 20).Select(i => $$"""{"text": "Document {{i}} talks about topic {{i}} at some length."}""")));
    }

    static void WriteParquet(string path, int rows, int offset)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var schema = new ParquetSchema(
            new DataField<string>("system"),
            new ListField("conversations", new StructField("element", new DataField<string>("from"), new DataField<string>("value"))));
        var data = Enumerable.Range(offset, rows).Select(i => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["system"] = i % 2 == 0 ? "Be nice." : null,
            ["conversations"] = new List<Dictionary<string, object>>
            {
                new() { ["from"] = "human", ["value"] = $"question {i}" },
                new() { ["from"] = "gpt", ["value"] = $"answer {i}" },
            },
        }).ToList();
        using var stream = File.Create(path);
        ParquetSerializer.SerializeUntypedAsync(data, schema, stream).GetAwaiter().GetResult();
    }

    DataPipelineOptions Options(params string[] datasets) => new()
    {
        DatasetDir = _folder.Path, Dataset = datasets, Template = "qwen", CutoffLen = 512, TokenizedCacheDir = _cache.Path,
    };

    [Fact]
    public void Supervised_reads_every_format()
    {
        var prepared = DataPipeline.Prepare(Options("alpaca_en", "alpaca_csv", "glaive_toolcall", "sharegpt_parquet", "openai_chat"),
                                            DataStage.Supervised, CharTokenizer.ChatMl(), "char");
        Assert.Equal(3 + 2 + 2 + 5 + 2, prepared.Train.Count);
        Assert.Equal([3L, 2, 2, 5, 2], prepared.Report.Datasets.Select(d => d.Kept));
        Assert.Equal(2, prepared.Report.Datasets[3].Files.Count);
    }

    [Fact]
    public void Pairwise_reads_csv_and_sharegpt_preferences()
    {
        var prepared = DataPipeline.Prepare(Options("dpo_csv", "dpo_sharegpt"), DataStage.Pairwise, CharTokenizer.ChatMl(), "char");
        Assert.Equal(3, prepared.Train.Count);
        Assert.All(prepared.Train, s => Assert.NotEqual(s.Main.InputIds, s.Rejected!.InputIds));
    }

    [Fact]
    public void Kto_pretraining_and_prompt_only_stages()
    {
        var kto = DataPipeline.Prepare(Options("kto_alpaca"), DataStage.Feedback, CharTokenizer.ChatMl(), "char");
        Assert.Equal([true, false], kto.Train.Select(s => s.KtoTag!.Value));

        var pt = DataPipeline.Prepare(Options("c4_demo") with { Template = null, CutoffLen = 64 }, DataStage.Pretrain, CharTokenizer.ChatMl(), "char");
        Assert.True(pt.Train.Count > 5);

        var ppo = DataPipeline.Prepare(Options("alpaca_en", "openai_chat"), DataStage.Unsupervised, CharTokenizer.ChatMl(), "char");
        Assert.Equal(5, ppo.Train.Count);
    }

    [Fact]
    public void Hub_entries_and_wrong_stage_fail_clearly()
    {
        var e = Assert.Throws<DatasetException>(() =>
            DataPipeline.Prepare(Options("wiki_hub") with { Template = null }, DataStage.Pretrain, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("download the dataset first", e.Message);
        e = Assert.Throws<DatasetException>(() => DataPipeline.Prepare(Options("dpo_csv"), DataStage.Supervised, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("cannot be used for stage sft", e.Message);
    }

    public void Dispose()
    {
        _folder.Dispose();
        _cache.Dispose();
    }
}
