using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Data;

/// <summary>The demo folder through the whole pipeline with real tokenizers, for every stage.</summary>
public class RealTokenizerPipelineTests
{
    [Theory]
    [InlineData(DataStage.Pretrain, "pretrain_demo", null)]
    [InlineData(DataStage.Supervised, "identity,alpaca_demo,sharegpt_demo", "qwen3")]
    [InlineData(DataStage.Pairwise, "dpo_demo", "qwen3")]
    [InlineData(DataStage.Feedback, "kto_demo", "qwen3")]
    [InlineData(DataStage.Unsupervised, "alpaca_demo", "qwen3")]
    public void Demo_folder_with_the_qwen3_tokenizer(DataStage stage, string datasets, string? template)
    {
        using var cache = new TempDataFolder();
        var options = new DataPipelineOptions
        {
            DatasetDir = RepositoryPaths.DemoData, Dataset = datasets.Split(','), Template = template, CutoffLen = 256,
            TokenizedCacheDir = cache.Path,
        };
        string folder = TokenizerPackages.Folder("qwen3");
        var prepared = DataPipeline.Prepare(options, stage, folder);
        Assert.NotEmpty(prepared.Train);
        Assert.All(prepared.Train, s => Assert.InRange(s.Main.Length, 1, 256));
        var tokenizer = TokenizerPackages.Load("qwen3");
        if (stage == DataStage.Supervised)
        {
            // Every learned span ends with the turn end, and the EOS used is <|im_end|>.
            Assert.Equal(tokenizer.TokenToId("<|im_end|>"), prepared.Tokenizer.EosTokenId);
            var first = prepared.Train[0].Main;
            string learned = tokenizer.Decode(first.InputIds.Where((_, i) => first.Labels[i] != -100));
            Assert.EndsWith("<|im_end|>\n", learned);
        }
        if (stage == DataStage.Pretrain)
        {
            Assert.All(prepared.Train, s => Assert.Equal(256, s.Main.Length));
            Assert.Contains(tokenizer.EosTokenId!.Value, prepared.Train[0].Main.InputIds);
        }
        Assert.True(DataPipeline.Prepare(options, stage, folder).FromCache);
    }

    [Fact]
    public void The_tiny_tokenizer_serves_chat_templates()
    {
        using var cache = new TempDataFolder();
        using var folder = new TempDataFolder();
        TinyTokenizer.Write(folder.Path);
        var options = new DataPipelineOptions
        {
            DatasetDir = RepositoryPaths.DemoData, Dataset = ["sharegpt_demo"], Template = "qwen3", TokenizedCacheDir = cache.Path,
            Packing = true, CutoffLen = 512,
        };
        var prepared = DataPipeline.Prepare(options, DataStage.Supervised, folder.Path);
        Assert.NotEmpty(prepared.Train);
        Assert.All(prepared.Train, s => Assert.NotNull(s.Main.SegmentIds));
    }
}
