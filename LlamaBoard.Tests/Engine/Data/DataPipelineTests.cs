using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;

namespace LlamaBoard.Tests.Engine.Data;

public class DataPipelineTests
{
    static DataPipelineOptions Demo(TempDataFolder cache, params string[] datasets) => new()
    {
        DatasetDir = RepositoryPaths.DemoData, Dataset = datasets, Template = "qwen3", CutoffLen = 256,
        TokenizedCacheDir = cache.Path,
    };

    [Theory]
    [InlineData(DataStage.Supervised, new[] { "identity", "alpaca_demo", "sharegpt_demo" }, 57)]
    [InlineData(DataStage.Pairwise, new[] { "dpo_demo" }, 8)]
    [InlineData(DataStage.Feedback, new[] { "kto_demo" }, 10)]
    [InlineData(DataStage.Unsupervised, new[] { "alpaca_demo", "sharegpt_demo" }, 36)]
    public void Demo_folder_loads_for_every_stage(DataStage stage, string[] datasets, int expected)
    {
        using var cache = new TempDataFolder();
        var prepared = DataPipeline.Prepare(Demo(cache, datasets), stage, CharTokenizer.ChatMl(), "char");
        Assert.Equal(expected, prepared.Train.Count);
        Assert.Equal(0, prepared.Report.Skipped);
        Assert.All(prepared.Train, s => Assert.InRange(s.Main.Length, 1, 256));
        if (stage == DataStage.Pairwise) Assert.All(prepared.Train, s => Assert.NotNull(s.Rejected));
        if (stage == DataStage.Feedback)
        {
            Assert.Equal(5, prepared.Train.Count(s => s.KtoTag == true));
            Assert.All(prepared.Train, s => Assert.NotNull(s.Kl));
        }
    }

    [Fact]
    public void Demo_pretraining_text_is_cut_into_full_blocks()
    {
        using var cache = new TempDataFolder();
        var options = Demo(cache, "pretrain_demo") with { Template = null, CutoffLen = 128 };
        var prepared = DataPipeline.Prepare(options, DataStage.Pretrain, CharTokenizer.ChatMl(), "char");
        long characters = File.ReadAllLines(Path.Combine(RepositoryPaths.DemoData, "pretrain_demo.txt"))
                              .Where(l => l.Trim().Length > 0).Sum(l => l.Length + 1L); // + one EOS each
        Assert.Equal(characters / 128, prepared.Train.Count);
        Assert.All(prepared.Train, s => Assert.Equal(128, s.Main.Length));
    }

    [Fact]
    public void Second_run_loads_the_cache_and_changed_inputs_rebuild_it()
    {
        using var cache = new TempDataFolder();
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """{"d": {"file_name": "d.jsonl"}}""");
        string file = folder.Write("d.jsonl", string.Join("\n", Enumerable.Range(0, 50).Select(i => $$"""{"instruction": "q{{i}}", "output": "a{{i}}"}""")));
        var options = new DataPipelineOptions { DatasetDir = folder.Path, Dataset = ["d"], Template = "qwen", TokenizedCacheDir = cache.Path, ValSize = 0.2 };
        var tokenizer = CharTokenizer.ChatMl();

        var first = DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, "char");
        Assert.False(first.FromCache);
        Assert.True(File.Exists(first.CachePath));
        var second = DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, "char");
        Assert.True(second.FromCache);
        Assert.Equal(first.CachePath, second.CachePath);
        Assert.Equal((40, 10), (second.Train.Count, second.Eval.Count));
        for (int i = 0; i < first.Train.Count; i++)
        {
            Assert.Equal(first.Train[i].Main.InputIds, second.Train[i].Main.InputIds);
            Assert.Equal(first.Train[i].Main.Labels, second.Train[i].Main.Labels);
        }
        Assert.Equal(first.Report.ToString(), second.Report.ToString());

        Assert.False(DataPipeline.Prepare(options with { CutoffLen = 100 }, DataStage.Supervised, tokenizer, "char").FromCache);
        Assert.False(DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, "another tokenizer").FromCache);
        Assert.False(DataPipeline.Prepare(options with { Template = "chatml" }, DataStage.Supervised, tokenizer, "char").FromCache);
        Assert.False(DataPipeline.Prepare(options with { OverwriteCache = true }, DataStage.Supervised, tokenizer, "char").FromCache);
        File.AppendAllText(file, "\n{\"instruction\": \"new\", \"output\": \"x\"}");
        var changed = DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, "char");
        Assert.False(changed.FromCache);
        Assert.Equal(51, changed.Train.Count + changed.Eval.Count);

        File.WriteAllText(changed.CachePath, "corrupt");
        Assert.False(DataPipeline.Prepare(options, DataStage.Supervised, tokenizer, "char").FromCache); // rebuilt, not crashed
    }

    [Fact]
    public void Parallel_preprocessing_keeps_order_and_reports_progress()
    {
        using var cache = new TempDataFolder();
        var options = Demo(cache, "alpaca_demo", "sharegpt_demo", "identity");
        var events = new List<DataProgress>();
        var progress = new SynchronousProgress<DataProgress>(events.Add);
        var parallel = DataPipeline.Prepare(options with { PreprocessingNumWorkers = 4 }, DataStage.Supervised, CharTokenizer.ChatMl(), "char",
                                            progress: progress);
        var serial = DataPipeline.Prepare(options with { PreprocessingNumWorkers = 1, OverwriteCache = true }, DataStage.Supervised,
                                          CharTokenizer.ChatMl(), "char");
        Assert.Equal(serial.Train.Select(s => s.Main.InputIds), parallel.Train.Select(s => s.Main.InputIds));
        Assert.Contains(events, e => e.Phase == DataPhase.Reading && e.Dataset == "alpaca_demo" && e.Done == 28);
        Assert.Contains(events, e => e.Phase == DataPhase.Tokenizing && e.Done == e.Total);
        Assert.Equal(DataPhase.Done, events[^1].Phase);
    }

    [Fact]
    public void Tokenization_errors_are_skipped_with_the_option_and_fail_without()
    {
        using var cache = new TempDataFolder();
        using var folder = new TempDataFolder();
        folder.Write("dataset_info.json", """{"d": {"file_name": "d.json", "formatting": "sharegpt"}}""");
        folder.Write("d.json", """
            [{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]},
             {"conversations": [{"from": "human", "value": "a"}, {"from": "function_call", "value": "{not json"}]}]
            """);
        var options = new DataPipelineOptions { DatasetDir = folder.Path, Dataset = ["d"], Template = "qwen", TokenizedCacheDir = cache.Path };
        var e = Assert.Throws<DatasetException>(() => DataPipeline.Prepare(options, DataStage.Supervised, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("record 1", e.Message);
        Assert.Contains("skip_bad_records", e.Message);
        var prepared = DataPipeline.Prepare(options with { SkipBadRecords = true }, DataStage.Supervised, CharTokenizer.ChatMl(), "char");
        Assert.Single(prepared.Train);
        Assert.Equal(1, prepared.Report.PreprocessingSkipped);
        Assert.Contains("1 examples skipped while tokenizing", prepared.Report.ToString());
    }

    [Fact]
    public void Template_is_required_for_chat_stages()
    {
        using var cache = new TempDataFolder();
        var e = Assert.Throws<DatasetException>(() =>
            DataPipeline.Prepare(Demo(cache, "alpaca_demo") with { Template = null }, DataStage.Supervised, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("no chat template is set", e.Message);
        e = Assert.Throws<DatasetException>(() =>
            DataPipeline.Prepare(Demo(cache, "alpaca_demo") with { Template = "llama3" }, DataStage.Supervised, CharTokenizer.ChatMl(), "char"));
        Assert.Contains("<|eot_id|>", e.Message);
    }

    [Fact]
    public void Batches_are_a_seeded_shuffle_per_epoch()
    {
        var dataset = new TokenizedDataset(DataStage.Supervised,
            [.. Enumerable.Range(0, 10).Select(i => new TokenizedSample(new TokenSequence([i], [i])))]);
        var epoch0 = dataset.Batches(4, seed: 1, epoch: 0).ToList();
        Assert.Equal([4, 4, 2], epoch0.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10), epoch0.SelectMany(b => b).Order());
        Assert.Equal(epoch0, dataset.Batches(4, 1, 0).ToList());
        Assert.NotEqual(epoch0.SelectMany(b => b), dataset.Batches(4, 1, 1).SelectMany(b => b));
    }

    /// <summary>Progress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        readonly Lock _gate = new();
        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
