using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Data.Processors;

/// <summary>
/// Packing never lets one sample attend to another: rows built by the pipeline and collator go through the real
/// DecoderModel, and the logits of every sample inside a packed row equal the logits of that sample alone.
/// </summary>
public class PackingThroughModelTests
{
    static DecoderModel TinyModel(string family, JsonObject overrides) =>
        TinyModels.Create(ModelConfigFactory.NewConfig(family, new ModelShape(32, 2, 4, 2, 64, TinyTokenizer.VocabSize, HeadDim: 16), overrides));

    public static TheoryData<string, string> Families() => new()
    {
        { "qwen3", "{}" },
        { "mistral", """{"sliding_window": 4}""" },       // sliding windows must also stop at sample borders
        { "gemma3_text", """{"sliding_window": 3, "sliding_window_pattern": 2}""" },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Each_sample_in_a_packed_row_has_the_logits_it_has_alone(string family, string overrides)
    {
        Torch.EnsureReady();
        using var cache = new TempDataFolder();
        using var tokenizerFolder = new TempDataFolder();
        TinyTokenizer.Write(tokenizerFolder.Path);
        var options = new DataPipelineOptions
        {
            DatasetDir = RepositoryPaths.DemoData, Dataset = ["identity", "alpaca_demo"], Template = "qwen", CutoffLen = 256,
            NeatPacking = true, TokenizedCacheDir = cache.Path, MaxSamples = 12,
        };
        var packed = DataPipeline.Prepare(options, DataStage.Supervised, tokenizerFolder.Path);
        var alone = DataPipeline.Prepare(options with { NeatPacking = false, Packing = false }, DataStage.Supervised, tokenizerFolder.Path);
        var rows = packed.Train.Where(r => r.Main.SegmentIds!.Max() > 1).Take(2).ToList();
        Assert.NotEmpty(rows);

        using var scope = NewDisposeScope();
        using var model = TinyModel(family, (JsonObject)JsonNode.Parse(overrides)!);
        var batch = packed.CreateCollator().Collate(rows, DataStage.Supervised);
        Assert.Equal(0, batch.Main.Length % 8);
        var logits = model.Forward(batch.Main.InputIds, batch.Main.PositionIds, batch.Main.AttentionMask); // (B, T, V)

        int checkedSamples = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r].Main;
            int[] segments = row.SegmentIds!;
            foreach (int segment in segments.Distinct())
            {
                int start = Array.IndexOf(segments, segment);
                int length = segments.Count(s => s == segment);
                var ids = row.InputIds[start..(start + length)];
                // The same sample, tokenized without packing, run on its own.
                Assert.Contains(alone.Train, s => s.Main.InputIds.SequenceEqual(ids));
                var single = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0];       // (n, V)
                TinyModels.Close(single, logits[r].narrow(0, start, length), tolerance: 1e-4,
                                 what: $"{family} row {r} sample {segment}");
                checkedSamples++;
            }
        }
        Assert.True(checkedSamples >= 3);
    }

    [Fact]
    public void Neat_pretraining_blocks_keep_documents_apart()
    {
        Torch.EnsureReady();
        using var cache = new TempDataFolder();
        using var tokenizerFolder = new TempDataFolder();
        TinyTokenizer.Write(tokenizerFolder.Path);
        var options = new DataPipelineOptions
        {
            DatasetDir = RepositoryPaths.DemoData, Dataset = ["pretrain_demo"], CutoffLen = 128, NeatPacking = true,
            TokenizedCacheDir = cache.Path,
        };
        var blocks = DataPipeline.Prepare(options, DataStage.Pretrain, tokenizerFolder.Path).Train;
        var block = blocks.First(b => b.Main.SegmentIds!.Max() > 1).Main;
        using var scope = NewDisposeScope();
        using var model = TinyModel("qwen3", []);
        var batch = new DataCollator(0).Collate([new TokenizedSample(block)], DataStage.Pretrain);
        var logits = model.Forward(batch.Main.InputIds, batch.Main.PositionIds, batch.Main.AttentionMask)[0];
        int[] segments = block.SegmentIds!;
        foreach (int segment in segments.Distinct())
        {
            int start = Array.IndexOf(segments, segment), length = segments.Count(s => s == segment);
            var ids = tensor(block.InputIds[start..(start + length)].Select(i => (long)i).ToArray()).unsqueeze(0);
            TinyModels.Close(model.Forward(ids)[0], logits.narrow(0, start, length), tolerance: 1e-4, what: $"document {segment}");
        }
    }

    [Fact]
    public void Without_isolation_a_packed_sample_would_see_its_neighbours()
    {
        // The control: the same packed row with an all-ones mask (plain concatenation) changes the second
        // sample's logits, so the test above would notice a mask that fails to isolate.
        Torch.EnsureReady();
        using var scope = NewDisposeScope();
        using var model = TinyModel("qwen3", []);
        var row = new TokenSequence([5, 6, 7, 8, 9, 10], [5, 6, 7, 8, 9, 10], [1, 1, 1, 2, 2, 2], [0, 1, 2, 0, 1, 2]);
        var batch = new DataCollator(0).Collate([new TokenizedSample(row)], DataStage.Supervised);
        var isolated = model.Forward(batch.Main.InputIds, batch.Main.PositionIds, batch.Main.AttentionMask)[0];
        var leaky = model.Forward(batch.Main.InputIds, batch.Main.PositionIds, ones_like(batch.Main.AttentionMask))[0];
        double difference = (isolated.narrow(0, 3, 3) - leaky.narrow(0, 3, 3)).abs().max().item<float>();
        Assert.True(difference > 1e-3, $"an unisolated neighbour changed nothing ({difference})");
    }
}
