using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Ppo;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Ppo;

/// <summary>PPO's sampling loop: KV-cached, left-padded greedy decoding equals plain full forwards; seeded sampling repeats.</summary>
public class RolloutSamplerTests
{
    public RolloutSamplerTests() => Torch.EnsureReady();

    static readonly int[][] Prompts = [[5, 17, 99, 3, 41, 8], [250, 7], [64, 33, 12, 90]];
    static readonly int[] NoStop = [-1];

    static SamplingSettings Greedy(int tokens) => new(DoSample: false, 1.0, 1.0, 0, 1.0, tokens);

    [Fact]
    public void Greedy_decoding_with_the_cache_equals_full_forwards_row_by_row()
    {
        using var model = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        model.eval();
        using var sampler = new RolloutSampler(1);
        var responses = sampler.Generate(model, Prompts, Greedy(6), NoStop, padTokenId: 0);
        for (int r = 0; r < Prompts.Length; r++)
        {
            var sequence = Prompts[r].ToList();
            using (no_grad())
                for (int step = 0; step < 6; step++)
                {
                    using var scope = NewDisposeScope();
                    var logits = model.Forward(tensor(sequence.Select(t => (long)t).ToArray(), [1, sequence.Count], ScalarType.Int64)); // (1, T, V)
                    sequence.Add((int)logits[0, -1].argmax().item<long>());
                }
            Assert.Equal(sequence.Skip(Prompts[r].Length), responses[r]);
        }
    }

    [Fact]
    public void Seeded_sampling_repeats_and_stops_after_a_stop_token()
    {
        using var model = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        model.eval();
        var settings = new SamplingSettings(DoSample: true, Temperature: 0.9, TopP: 0.9, TopK: 50, RepetitionPenalty: 1.1, MaxNewTokens: 8);
        List<int[]> Sample(long seed)
        {
            using var sampler = new RolloutSampler(seed);
            return sampler.Generate(model, Prompts, settings, NoStop, 0);
        }
        var a = Sample(7);
        var b = Sample(7);
        var c = Sample(8);
        Assert.Equal(a.Select(r => string.Join(",", r)), b.Select(r => string.Join(",", r)));
        Assert.NotEqual(a.Select(r => string.Join(",", r)), c.Select(r => string.Join(",", r)));
        Assert.All(a, r => Assert.Equal(8, r.Length));

        // Every token stops: each response is that single token.
        using var stopping = new RolloutSampler(7);
        var stopped = stopping.Generate(model, Prompts, settings, Enumerable.Range(0, 512).ToArray(), 0);
        Assert.All(stopped, r => Assert.Single(r));

        // top_k = 1 leaves only the most likely token: sampling equals greedy decoding.
        using var topOne = new RolloutSampler(9);
        using var greedy = new RolloutSampler(9);
        var sampled = topOne.Generate(model, Prompts, settings with { TopK = 1, RepetitionPenalty = 1.0 }, NoStop, 0);
        var decoded = greedy.Generate(model, Prompts, Greedy(8), NoStop, 0);
        Assert.Equal(decoded.Select(r => string.Join(",", r)), sampled.Select(r => string.Join(",", r)));
    }

    [Fact]
    public void The_generator_state_round_trips()
    {
        using var model = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        model.eval();
        var settings = new SamplingSettings(true, 1.0, 1.0, 0, 1.0, 5);
        using var sampler = new RolloutSampler(3);
        sampler.Generate(model, Prompts, settings, NoStop, 0);
        byte[] state = sampler.GetState();
        var expected = sampler.Generate(model, Prompts, settings, NoStop, 0);
        using var restored = new RolloutSampler(99);
        restored.SetState(state);
        var actual = restored.Generate(model, Prompts, settings, NoStop, 0);
        Assert.Equal(expected.Select(r => string.Join(",", r)), actual.Select(r => string.Join(",", r)));
    }
}
