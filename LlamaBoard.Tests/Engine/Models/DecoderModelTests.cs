using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>The one decoder: cached decoding, packing, padding, for every family.</summary>
public class DecoderModelTests
{
    public DecoderModelTests() => Torch.EnsureReady();

    public static TheoryData<string> Families => TinyModels.All();

    [Theory]
    [MemberData(nameof(Families))]
    public void Cached_incremental_decoding_equals_the_full_forward(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var ids = TinyModels.Ids(2, 11);
        var full = model.Forward(ids);                                      // (2, 11, vocab)

        using var cache = model.CreateCache();
        var pieces = new List<Tensor> { model.Forward(ids.narrow(1, 0, 4), cache: cache) };   // prefill 4
        pieces.Add(model.Forward(ids.narrow(1, 4, 2), cache: cache));                         // a chunk of 2
        for (int t = 6; t < 11; t++) pieces.Add(model.Forward(ids.narrow(1, t, 1), cache: cache)); // one at a time
        Assert.Equal(11, cache.Length);
        TinyModels.Close(full, cat(pieces, 1), what: $"{family} cached vs full logits");
    }

    static long[] Row(Tensor ids, int row) => ids[row].data<long>().ToArray();

    static long[] Positions(long[] segments)
    {
        var counts = new Dictionary<long, long>();
        return segments.Select(s => s == 0 ? 0 : counts[s] = counts.GetValueOrDefault(s, -1) + 1).ToArray();
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void The_forward_pass_matches_a_plain_float64_reference(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var reference = new NaiveDecoder(model);
        var ids = TinyModels.Ids(2, 9);
        var logits = model.Forward(ids);
        for (int row = 0; row < 2; row++)
        {
            var expected = reference.Row(Row(ids, row), Enumerable.Repeat(1L, 9).ToArray(), Enumerable.Range(0, 9).Select(i => (long)i).ToArray());
            double scale = expected.abs().max().item<double>();
            Assert.True(scale > 1e-3, "logits too small to compare");
            TinyModels.Close(expected, logits[row], tolerance: 2e-5 * scale + 1e-6, what: $"{family} row {row}");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Packed_samples_give_the_logits_of_each_sample_alone_and_match_the_reference(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var ids = TinyModels.Ids(1, 10, seed: 3);
        long[] segments = [1, 1, 1, 1, 2, 2, 2, 3, 3, 0];
        var mask = tensor(segments).unsqueeze(0);
        var packed = model.Forward(ids, attentionMask: mask)[0];                    // (10, vocab)

        foreach (var (start, length) in new[] { (0, 4), (4, 3), (7, 2) })
        {
            var alone = model.Forward(ids.narrow(1, start, length))[0];           // positions 0.. by default
            TinyModels.Close(alone, packed.narrow(0, start, length), what: $"{family} sample at {start}");
        }
        // Explicit restarting position ids give the same result as the defaults.
        var positions = tensor(Positions(segments)).unsqueeze(0);
        TinyModels.Close(packed, model.Forward(ids, positionIds: positions, attentionMask: mask)[0], what: "explicit positions");
        var expected = new NaiveDecoder(model).Row(Row(ids, 0), segments, Positions(segments));
        TinyModels.Close(expected.narrow(0, 0, 9), packed.narrow(0, 0, 9), tolerance: 1e-4, what: $"{family} packed vs reference");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Left_padding_gives_the_logits_of_the_unpadded_rows(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var a = TinyModels.Ids(1, 7, seed: 11);
        var b = TinyModels.Ids(1, 4, seed: 12);
        var batch = cat([a, cat([zeros(1, 3, dtype: ScalarType.Int64), b], 1)], 0);     // (2, 7), row 1 left-padded by 3
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1, 1 } });
        var logits = model.Forward(batch, attentionMask: mask);
        TinyModels.Close(model.Forward(a)[0], logits[0], what: $"{family} unpadded row");
        TinyModels.Close(model.Forward(b)[0], logits[1].narrow(0, 3, 4), what: $"{family} padded row");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Cached_decoding_of_a_left_padded_batch_equals_decoding_each_row_alone(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var a = TinyModels.Ids(1, 8, seed: 21);
        var b = TinyModels.Ids(1, 5, seed: 22);
        var batch = cat([a, cat([zeros(1, 3, dtype: ScalarType.Int64), b], 1)], 0);     // (2, 8)
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1, 1, 1 } });
        using var cache = model.CreateCache();
        var prompt = model.Forward(batch.narrow(1, 0, 5), attentionMask: mask.narrow(1, 0, 5), cache: cache);
        var steps = new List<Tensor> { prompt };
        for (int t = 5; t < 8; t++)
            steps.Add(model.Forward(batch.narrow(1, t, 1), cache: cache)); // no mask: new tokens continue each row
        var decoded = cat(steps, 1);
        TinyModels.Close(model.Forward(a)[0], decoded[0], what: $"{family} row 0");
        TinyModels.Close(model.Forward(b)[0], decoded[1].narrow(0, 3, 5), what: $"{family} row 1");
    }

    [Theory]
    [InlineData("mistral")]
    [InlineData("gemma2")]
    [InlineData("gemma3_text")]
    public void Sliding_windows_shorter_than_the_sequence_change_only_the_tokens_past_the_window(string family)
    {
        using var scope = NewDisposeScope();
        var config = TinyModels.Config(family);
        Assert.Equal(3, config.SlidingWindow);
        Assert.Contains(AttentionKind.Sliding, config.LayerTypes);
        using var windowed = TinyModels.Create(config);
        using var unwindowed = TinyModels.Create(config with { SlidingWindow = 1000 }); // same layers, window never binds
        var ids = TinyModels.Ids(1, 10);
        var with = windowed.Forward(ids)[0];
        var without = unwindowed.Forward(ids)[0];
        TinyModels.Close(without.narrow(0, 0, 3), with.narrow(0, 0, 3), what: "tokens inside the window");
        double later = (with.narrow(0, 3, 7) - without.narrow(0, 3, 7)).abs().max().item<float>();
        Assert.True(later > 1e-4, $"the window had no effect ({later})");

        // Sliding layers keep only window - 1 slots between steps.
        using var cache = windowed.CreateCache();
        for (int t = 0; t < 10; t++) windowed.Forward(ids.narrow(1, t, 1), cache: cache);
        int sliding = config.LayerTypes.ToList().IndexOf(AttentionKind.Sliding);
        Assert.True(cache.HeldSlots(sliding) <= 64, "sliding layer cache must stay bounded");
    }
}
