using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Inference;

public sealed class TokenGeneratorTests
{
    static readonly int[] NoStops = [];

    static GenerationRequest Request(IReadOnlyList<int>[] prompts, SamplingOptions sampling, IReadOnlyCollection<int>? stops = null) =>
        new(prompts, sampling, stops ?? NoStops, PadTokenId: 0);

    static int[] Prompt(int length, ulong seed)
    {
        using var ids = TinyModels.Ids(1, length, seed);
        return [.. ids.data<long>().ToArray().Select(x => (int)x)];
    }

    /// <summary>Greedy decoding the slow way: a full forward pass over the whole sequence for every new token, no cache.</summary>
    static List<int> NaiveGreedy(DecoderModel model, IReadOnlyList<int> prompt, int count)
    {
        using var _ = no_grad();
        var ids = prompt.ToList();
        var output = new List<int>();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var input = tensor(ids.Select(x => (long)x).ToArray(), [1, ids.Count], ScalarType.Int64);
            var logits = model.Forward(input);                                  // (1, T, V)
            int next = (int)logits[0, -1].argmax().item<long>();
            ids.Add(next);
            output.Add(next);
        }
        return output;
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("mistral")] // sliding window 3: the cache drops old slots while decoding
    [InlineData("gemma2")]  // logit soft-capping and explicit masks
    public void Greedy_generation_equals_the_argmax_of_full_forward_passes(string family)
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create(family);
        var prompt = Prompt(7, 3);
        var result = new TokenGenerator(model).Generate(Request([prompt], SamplingOptions.Greedy(12)));
        Assert.Equal(NaiveGreedy(model, prompt, 12), result.Sequences[0].Tokens);
        Assert.Equal(FinishReason.Length, result.Sequences[0].Reason);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("mistral")]
    public void Batched_left_padded_generation_equals_each_prompt_alone(string family)
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create(family);
        IReadOnlyList<int>[] prompts = [Prompt(3, 11), Prompt(9, 12), Prompt(6, 13)];
        var generator = new TokenGenerator(model);
        var batched = generator.Generate(Request(prompts, SamplingOptions.Greedy(10)));
        for (int r = 0; r < prompts.Length; r++)
        {
            var alone = generator.Generate(Request([prompts[r]], SamplingOptions.Greedy(10)));
            Assert.Equal(alone.Sequences[0].Tokens, batched.Sequences[r].Tokens);
        }
    }

    [Fact]
    public void Rows_stop_on_their_own_stop_tokens_and_the_stop_token_is_not_output()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        IReadOnlyList<int>[] prompts = [Prompt(5, 21), Prompt(8, 22)];
        var generator = new TokenGenerator(model);
        var free = generator.Generate(Request(prompts, SamplingOptions.Greedy(10)));
        // Make the third token of row 0 a stop token (unless it already occurs earlier in a row).
        int stop = free.Sequences[0].Tokens[2];
        var stopped = generator.Generate(Request(prompts, SamplingOptions.Greedy(10), [stop]));
        for (int r = 0; r < prompts.Length; r++)
        {
            var expected = free.Sequences[r].Tokens.TakeWhile(t => t != stop).ToList();
            Assert.Equal(expected, stopped.Sequences[r].Tokens);
            Assert.Equal(expected.Count < 10 ? FinishReason.Stop : FinishReason.Length, stopped.Sequences[r].Reason);
        }
        Assert.True(stopped.Sequences[0].Tokens.Count <= 2);
    }

    [Fact]
    public void Sampling_with_a_seed_is_reproducible_and_other_seeds_differ()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        var prompt = Prompt(6, 31);
        var generator = new TokenGenerator(model);
        var sampling = new SamplingOptions { DoSample = true, Temperature = 1.5, TopP = 1.0, TopK = 0, MaxNewTokens = 24, Seed = 1234 };
        var first = generator.Generate(Request([prompt], sampling)).Sequences[0].Tokens;
        var again = generator.Generate(Request([prompt], sampling)).Sequences[0].Tokens;
        Assert.Equal(first, again);
        var others = Enumerable.Range(0, 3)
            .Select(i => generator.Generate(Request([prompt], sampling with { Seed = 99 + i })).Sequences[0].Tokens).ToList();
        Assert.All(others, other => Assert.NotEqual(first, other));
    }

    [Fact]
    public void Sampling_never_draws_from_the_global_generator()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        var generator = new TokenGenerator(model);
        var sampling = new SamplingOptions { DoSample = true, Temperature = 1.0, MaxNewTokens = 16, Seed = 5 };
        // Runs on a thread of its own, like every generation: the global generator's state is process-wide.
        torch.random.manual_seed(77);
        using var expected = torch.rand(4);
        torch.random.manual_seed(77);
        generator.Generate(Request([Prompt(4, 41)], sampling));
        generator.Generate(Request([Prompt(4, 41)], sampling with { Seed = null }));
        using var actual = torch.rand(4);
        TinyModels.Close(expected, actual, 0);
    }

    [Fact]
    public void Cancellation_stops_at_the_next_token()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        using var cancel = new CancellationTokenSource();
        var result = new TokenGenerator(model).Generate(Request([Prompt(4, 51)], SamplingOptions.Greedy(100)), step =>
        {
            if (step.Index == 4) cancel.Cancel();
            return true;
        }, cancel.Token);
        Assert.Equal(5, result.Sequences[0].Tokens.Count);
        Assert.Equal(FinishReason.Cancelled, result.Sequences[0].Reason);
    }

    [Fact]
    public void Memory_stays_flat_over_a_long_generation()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var live = new Dictionary<int, long>();
        var sampling = new SamplingOptions { DoSample = true, Temperature = 1.0, TopK = 20, TopP = 0.9, RepetitionPenalty = 1.2, MaxNewTokens = 150, Seed = 3 };
        var result = new TokenGenerator(model).Generate(Request([Prompt(5, 61), Prompt(9, 62)], sampling), step =>
        {
            live[step.Index] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            return true;
        });
        Assert.Equal(150, result.Sequences[0].Tokens.Count);
        // The same tensors are alive after step 10 and after step 149: the cache, the seen-token mask and the logits.
        Assert.Equal(live[10], live[149]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Bad_requests_are_refused_with_a_reason()
    {
        Torch.EnsureReady();
        using var model = TinyModels.Create("qwen3");
        var generator = new TokenGenerator(model);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => generator.Generate(Request([[]], SamplingOptions.Greedy()))).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => generator.Generate(Request([[5, 100000]], SamplingOptions.Greedy()))).Message);
        Assert.Contains("top_p", Assert.Throws<ArgumentException>(() => generator.Generate(Request([[5]], new SamplingOptions { TopP = 0 }))).Message);
    }
}
