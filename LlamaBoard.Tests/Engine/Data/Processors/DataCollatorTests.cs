using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using TorchSharp;

namespace LlamaBoard.Tests.Engine.Data.Processors;

public class DataCollatorTests
{
    const int Pad = 99;
    const int Ignore = TokenSequence.IgnoreIndex;

    static long[] Row(torch.Tensor t, int row) => t[row].data<long>().ToArray();

    [Fact]
    public void Right_padding_rounds_up_to_a_multiple_of_eight()
    {
        Torch.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var collator = new DataCollator(Pad);
        var batch = collator.Collate(
        [
            new TokenizedSample(new TokenSequence([1, 2, 3], [Ignore, 2, 3])),
            new TokenizedSample(new TokenSequence([4, 5, 6, 7, 8, 9, 10, 11, 12], [4, 5, 6, 7, 8, 9, 10, 11, 12])),
        ], DataStage.Supervised);
        Assert.Equal([2L, 16L], batch.Main.InputIds.shape);
        Assert.Equal(torch.ScalarType.Int64, batch.Main.InputIds.dtype);
        Assert.Equal([1L, 2, 3, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad, Pad], Row(batch.Main.InputIds, 0));
        Assert.Equal([1L, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], Row(batch.Main.AttentionMask, 0));
        Assert.Equal([(long)Ignore, 2, 3, Ignore, Ignore], Row(batch.Main.Labels, 0)[..5]);
        Assert.Equal([0L, 1, 2], Row(batch.Main.PositionIds, 0)[..3]);
        Assert.Equal(9, Row(batch.Main.AttentionMask, 1).Sum());
    }

    [Fact]
    public void Left_padding_for_generation_ends_prompts_together()
    {
        Torch.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var collator = new DataCollator(Pad, PaddingSide.Left, padToMultipleOf: 1);
        var batch = collator.Collate(
        [
            new TokenizedSample(new TokenSequence([1, 2], [7])),
            new TokenizedSample(new TokenSequence([3, 4, 5, 6], [8, 9, 10])),
        ], DataStage.Unsupervised);
        Assert.Equal([Pad, Pad, 1L, 2], Row(batch.Main.InputIds, 0));
        Assert.Equal([0L, 0, 1, 1], Row(batch.Main.AttentionMask, 0));
        Assert.Equal([0L, 0, 0, 1], Row(batch.Main.PositionIds, 0));
        Assert.Equal([(long)Ignore, Ignore, 7], Row(batch.Main.Labels, 0)); // reference answers padded on their own
        Assert.Equal([2L, 3L], batch.Main.Labels.shape);
    }

    [Fact]
    public void Packed_rows_carry_segment_ids_and_restarting_positions()
    {
        Torch.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var packed = new TokenSequence([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 1, 2, 2, 2], [0, 1, 0, 1, 2]);
        var batch = new DataCollator(Pad).Collate([new TokenizedSample(packed)], DataStage.Supervised);
        Assert.Equal([1L, 1, 2, 2, 2, 0, 0, 0], Row(batch.Main.AttentionMask, 0));
        Assert.Equal([0L, 1, 0, 1, 2, 0, 0, 0], Row(batch.Main.PositionIds, 0));
    }

    [Fact]
    public void Pairwise_batches_put_chosen_rows_before_rejected_rows_and_kto_adds_kl_and_tags()
    {
        Torch.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var collator = new DataCollator(Pad, padToMultipleOf: 1);
        TokenSequence S(params int[] ids) => new(ids, ids);
        var pairs = collator.Collate(
            [new TokenizedSample(S(1), Rejected: S(2)), new TokenizedSample(S(3), Rejected: S(4, 4))], DataStage.Pairwise);
        Assert.Equal([4L, 2L], pairs.Main.InputIds.shape);
        Assert.Equal([1L, 3, 2, 4], pairs.Main.InputIds[.., 0].data<long>().ToArray());

        var kto = collator.Collate(
            [new TokenizedSample(S(1), Kl: S(5), KtoTag: true), new TokenizedSample(S(2), Kl: S(6), KtoTag: false)], DataStage.Feedback);
        Assert.Equal([true, false], kto.KtoTags!.data<bool>().ToArray());
        Assert.Equal([5L, 6], kto.Kl!.InputIds[.., 0].data<long>().ToArray());
    }
}
