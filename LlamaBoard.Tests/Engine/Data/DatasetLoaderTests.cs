using LlamaBoard.Engine.Data;

namespace LlamaBoard.Tests.Engine.Data;

public class DatasetLoaderTests
{
    static TempDataFolder Folder(string info, params (string Name, string Content)[] files)
    {
        var folder = new TempDataFolder();
        folder.Write("dataset_info.json", info);
        foreach (var (name, content) in files) folder.Write(name, content);
        return folder;
    }

    static string AlpacaLines(int count, string prefix = "q") =>
        string.Join("\n", Enumerable.Range(0, count).Select(i => $$"""{"instruction": "{{prefix}}{{i}}", "output": "a{{i}}"}"""));

    [Fact]
    public void A_malformed_record_fails_the_load_with_its_location_and_the_skip_option()
    {
        using var folder = Folder("""{"d": {"file_name": "d.jsonl"}}""",
            ("d.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\", \"output\": [1]}\n"));
        var options = new DataPipelineOptions { DatasetDir = folder.Path, Dataset = ["d"] };
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(DatasetRegistry.Load(folder.Path), "d", DataStage.Supervised, options));
        Assert.Equal(("d", 1L, 2, "output"), (e.Dataset, e.RecordIndex!.Value, e.Line!.Value, e.Field));
        Assert.EndsWith("d.jsonl", e.File);
        Assert.Contains("skip_bad_records: true", e.Message);
    }

    [Fact]
    public void Skip_bad_records_counts_and_reports_instead_of_failing()
    {
        using var folder = Folder("""{"d": {"file_name": "d.jsonl"}}""",
            ("d.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{broken\n{\"instruction\": \"c\"}\n{\"instruction\": \"e\", \"output\": \"f\"}\n"));
        var options = new DataPipelineOptions { DatasetDir = folder.Path, Dataset = ["d"], SkipBadRecords = true };
        var loaded = DatasetLoader.Load(DatasetRegistry.Load(folder.Path), "d", DataStage.Supervised, options);
        Assert.Equal(["a", "e"], loaded.Examples.Select(x => x.Messages[0].Content));
        Assert.Equal((4L, 2L, 2L), (loaded.Summary.Records, loaded.Summary.Examples, loaded.Summary.Skipped));
        Assert.Contains("invalid JSON", loaded.Summary.SkippedSamples[0].Message);
        Assert.Contains("has no response", loaded.Summary.SkippedSamples[1].Message);
        string report = new DataLoadReport([loaded.Summary]).ToString();
        Assert.Contains("2 malformed records skipped", report);
        Assert.Contains("record 2 (line 3)", report);
    }

    [Fact]
    public void Folder_datasets_read_every_file_in_name_order_and_refuse_mixed_types()
    {
        using var folder = Folder("""{"d": {"file_name": "parts"}, "mixed": {"file_name": "mixed"}}""",
            ("parts/b.jsonl", AlpacaLines(2, "b")), ("parts/a.jsonl", AlpacaLines(3, "a")),
            ("mixed/a.jsonl", AlpacaLines(1)), ("mixed/b.csv", "instruction,output\nx,y\n"));
        var registry = DatasetRegistry.Load(folder.Path);
        var loaded = DatasetLoader.Load(registry, "d", DataStage.Supervised, new DataPipelineOptions());
        Assert.Equal(["a0", "a1", "a2", "b0", "b1"], loaded.Examples.Select(x => x.Messages[0].Content));
        var e = Assert.Throws<DatasetException>(() => DatasetLoader.Load(registry, "mixed", DataStage.Supervised, new DataPipelineOptions()));
        Assert.Contains("must share a type", e.Message);
    }

    [Fact]
    public void Stage_and_dataset_must_fit()
    {
        using var folder = Folder("""
            {"sft": {"file_name": "s.jsonl"},
             "pref": {"file_name": "p.jsonl", "ranking": true, "columns": {"prompt": "instruction", "chosen": "c", "rejected": "r"}}}
            """, ("s.jsonl", AlpacaLines(2)), ("p.jsonl", """{"instruction": "q", "c": "good", "r": "bad"}"""));
        var registry = DatasetRegistry.Load(folder.Path);
        Assert.Contains("need a preference dataset",
            Assert.Throws<DatasetException>(() => DatasetLoader.Load(registry, "sft", DataStage.Pairwise, new DataPipelineOptions())).Message);
        Assert.Contains("cannot be used for stage sft",
            Assert.Throws<DatasetException>(() => DatasetLoader.Load(registry, "pref", DataStage.Supervised, new DataPipelineOptions())).Message);
        Assert.Contains("maps no kto_tag column",
            Assert.Throws<DatasetException>(() => DatasetLoader.Load(registry, "sft", DataStage.Feedback, new DataPipelineOptions())).Message);
        Assert.Single(DatasetLoader.Load(registry, "pref", DataStage.Pairwise, new DataPipelineOptions()).Examples);
    }

    [Fact]
    public void Num_samples_resamples_and_max_samples_truncates()
    {
        using var folder = Folder("""{"up": {"file_name": "d.jsonl", "num_samples": 7}, "down": {"file_name": "d.jsonl", "num_samples": 3}}""",
            ("d.jsonl", AlpacaLines(5)));
        var registry = DatasetRegistry.Load(folder.Path);
        var up = DatasetLoader.Load(registry, "up", DataStage.Supervised, new DataPipelineOptions());
        Assert.Equal(7, up.Examples.Count);
        Assert.Equal(5, up.Examples.Select(x => x.Messages[0].Content).Distinct().Count()); // every record at least once
        var down = DatasetLoader.Load(registry, "down", DataStage.Supervised, new DataPipelineOptions());
        Assert.Equal(3, down.Examples.Select(x => x.Messages[0].Content).Distinct().Count());
        var again = DatasetLoader.Load(registry, "down", DataStage.Supervised, new DataPipelineOptions());
        Assert.Equal(down.Examples.Select(x => x.Messages[0].Content), again.Examples.Select(x => x.Messages[0].Content));

        var capped = DatasetLoader.Load(registry, "up", DataStage.Supervised, new DataPipelineOptions { MaxSamples = 2 });
        Assert.Equal(2, capped.Examples.Count);
        Assert.Equal(2, capped.Summary.Kept);
    }

    [Fact]
    public void Splits_are_seeded_and_val_size_is_a_fraction_or_a_count()
    {
        using var folder = Folder("""{"d": {"file_name": "d.jsonl"}}""", ("d.jsonl", AlpacaLines(20)));
        var fraction = new DataPipelineOptions { DatasetDir = folder.Path, Dataset = ["d"], ValSize = 0.1, Seed = 3 };
        var (train, eval, _) = DatasetLoader.LoadSplits(fraction, DataStage.Supervised);
        Assert.Equal((18, 2), (train.Count, eval.Count));
        Assert.Empty(train.Select(x => x.Messages[0].Content).Intersect(eval.Select(x => x.Messages[0].Content)));
        var (train2, eval2, _) = DatasetLoader.LoadSplits(fraction, DataStage.Supervised);
        Assert.Equal(eval.Select(x => x.Messages[0].Content), eval2.Select(x => x.Messages[0].Content));
        Assert.Equal(train.Select(x => x.Messages[0].Content), train2.Select(x => x.Messages[0].Content));
        var (_, eval3, _) = DatasetLoader.LoadSplits(fraction with { Seed = 4 }, DataStage.Supervised);
        Assert.NotEqual(eval.Select(x => x.Messages[0].Content), eval3.Select(x => x.Messages[0].Content));

        var (trainCount, evalCount, _) = DatasetLoader.LoadSplits(fraction with { ValSize = 5 }, DataStage.Supervised);
        Assert.Equal((15, 5), (trainCount.Count, evalCount.Count));
        Assert.Contains("leaves none for training",
            Assert.Throws<DatasetException>(() => DatasetLoader.LoadSplits(fraction with { ValSize = 20 }, DataStage.Supervised)).Message);
        Assert.Contains("not a whole count",
            Assert.Throws<DatasetException>(() => DatasetLoader.LoadSplits(fraction with { ValSize = 2.5 }, DataStage.Supervised)).Message);
    }

    [Fact]
    public void Mix_strategies_concat_and_interleave()
    {
        IReadOnlyList<IReadOnlyList<string>> sets = [["a0", "a1", "a2"], ["b0"]];
        Assert.Equal(["a0", "a1", "a2", "b0"], DatasetMixer.Mix(sets, "concat", null, 1));
        Assert.Equal(["a0", "b0"], DatasetMixer.Mix(sets, "interleave_under", null, 1));
        Assert.Equal(["a0", "b0", "a1", "b0", "a2", "b0"], DatasetMixer.Mix(sets, "interleave_over", null, 1));

        IReadOnlyList<IReadOnlyList<int>> big = [[.. Enumerable.Range(0, 1000)], [.. Enumerable.Range(1000, 1000)]];
        var weighted = DatasetMixer.Mix(big, "interleave_under", [0.8, 0.2], 7);
        Assert.Equal(1000, weighted.Count(x => x < 1000)); // stops once the first dataset runs out
        double share = weighted.Count(x => x >= 1000) / (double)weighted.Count;
        Assert.InRange(share, 0.15, 0.25);
        Assert.Equal(weighted, DatasetMixer.Mix(big, "interleave_under", [0.8, 0.2], 7));

        var over = DatasetMixer.Mix(big, "interleave_over", [0.8, 0.2], 7);
        Assert.Equal(2000, over.Distinct().Count()); // every example of both datasets appears

        Assert.Contains("add up to 1", Assert.Throws<ArgumentException>(() => DatasetMixer.Mix(big, "interleave_under", [0.5, 0.2], 7)).Message);
        Assert.Contains("2 datasets", Assert.Throws<ArgumentException>(() => DatasetMixer.Mix(big, "interleave_under", [1.0], 7)).Message);
        Assert.Contains("unknown", Assert.Throws<ArgumentException>(() => DatasetMixer.Mix(big, "shuffle", null, 7)).Message);
    }

    [Fact]
    public void Epoch_permutations_are_deterministic_and_differ_by_epoch()
    {
        var first = SeededRandom.EpochPermutation(100, 42, 0);
        Assert.Equal(first, SeededRandom.EpochPermutation(100, 42, 0));
        Assert.NotEqual(first, SeededRandom.EpochPermutation(100, 42, 1));
        Assert.Equal(Enumerable.Range(0, 100), first.Order());
    }
}
