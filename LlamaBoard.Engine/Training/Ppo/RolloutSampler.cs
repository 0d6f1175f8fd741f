using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Ppo;

/// <summary>Decoding settings of PPO's rollouts (LLaMA-Factory passes the generating arguments to generate()).</summary>
/// <param name="DoSample">Sample; false takes the most likely token.</param>
/// <param name="Temperature">Divides the logits before sampling.</param>
/// <param name="TopP">Nucleus sampling mass (1 = off).</param>
/// <param name="TopK">Sample among the k most likely tokens (0 = off).</param>
/// <param name="RepetitionPenalty">HF's repetition penalty on tokens already present (1 = off).</param>
/// <param name="MaxNewTokens">Most tokens generated per response.</param>
public sealed record SamplingSettings(bool DoSample, double Temperature, double TopP, int TopK, double RepetitionPenalty, int MaxNewTokens)
{
    /// <summary>The generating options (do_sample, temperature, top_p, top_k, repetition_penalty, max_new_tokens).</summary>
    public static SamplingSettings From(GeneratingOptions options) =>
        new(options.DoSample, options.Temperature, options.TopP, options.TopK, options.RepetitionPenalty, options.MaxNewTokens);
}

/// <summary>
/// A minimal batched sampling loop for PPO's rollouts: the prompts are left-padded so that they end together, fed
/// once into a KV cache, then one token per step; HF's logits processors in HF's order (repetition penalty, then
/// temperature, top-k, top-p); draws come from the sampler's own <see cref="Generator"/>, so the rollouts of a seeded
/// run repeat, and resume after a checkpoint, whatever else draws random numbers.
/// </summary>
public sealed class RolloutSampler : IDisposable
{
    readonly Generator generator;

    /// <summary>A sampler whose generator starts from <paramref name="seed"/>.</summary>
    public RolloutSampler(long seed)
    {
        // Sampling happens on the CPU (the probabilities are moved there): one generator serves every device.
        generator = new Generator((ulong)seed, CPU);
    }

    /// <summary>The generator's state, for checkpoints.</summary>
    public byte[] GetState()
    {
        using var state = generator.get_state();
        return state.data<byte>().ToArray();
    }

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(byte[] state)
    {
        using var tensorState = tensor(state, dtype: ScalarType.Byte);
        generator.set_state(tensorState);
    }

    /// <summary>
    /// Generates a response for each prompt with <paramref name="model"/> as it is (the caller sets evaluation mode
    /// and adapters). A response ends after the first stop token (which it includes) or at max_new_tokens.
    /// </summary>
    /// <param name="model">The policy.</param>
    /// <param name="prompts">Token ids of each prompt (non-empty).</param>
    /// <param name="settings">Decoding settings.</param>
    /// <param name="stopTokenIds">EOS and the template's other stop tokens.</param>
    /// <param name="padTokenId">Id fed after a row has finished.</param>
    public List<int[]> Generate(DecoderModel model, IReadOnlyList<int[]> prompts, SamplingSettings settings,
                                IReadOnlyCollection<int> stopTokenIds, int padTokenId)
    {
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Length == 0)) throw new ArgumentException("a PPO prompt is empty.", nameof(prompts));
        int rows = prompts.Count;
        int promptLength = prompts.Max(p => p.Length);
        var ids = new long[rows * promptLength];
        var mask = new long[rows * promptLength];
        Array.Fill(ids, padTokenId);
        for (int r = 0; r < rows; r++)
        {
            int offset = promptLength - prompts[r].Length;
            for (int t = 0; t < prompts[r].Length; t++)
            {
                ids[r * promptLength + offset + t] = prompts[r][t];
                mask[r * promptLength + offset + t] = 1;
            }
        }

        var responses = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var finished = new bool[rows];
        var stops = stopTokenIds.ToHashSet();
        using var noGrad = no_grad();
        using var cache = model.CreateCache();
        var device = model.Device;
        using var outer = NewDisposeScope();
        var seen = zeros(rows, model.Config.VocabSize, dtype: ScalarType.Bool, device: device);          // (B, V) tokens so far
        var input = tensor(ids, [rows, promptLength], ScalarType.Int64, device);                      // (B, P)
        seen.scatter_(1, input, ones_like(input, dtype: ScalarType.Bool));
        Tensor? attention = tensor(mask, [rows, promptLength], ScalarType.Int64, device);             // (B, P), 0 = left padding
        for (int step = 0; step < settings.MaxNewTokens; step++)
        {
            using var scope = NewDisposeScope();
            var hidden = model.ForwardHidden(input, attentionMask: attention, cache: cache);          // (B, T, H)
            var logits = model.ComputeLogits(hidden.narrow(1, hidden.shape[1] - 1, 1).squeeze(1)).to_type(ScalarType.Float32); // (B, V)
            var next = NextTokens(logits, seen, settings).cpu().data<long>().ToArray();               // (B)
            for (int r = 0; r < rows; r++)
            {
                if (finished[r]) next[r] = padTokenId;
                else
                {
                    responses[r].Add((int)next[r]);
                    finished[r] = stops.Contains((int)next[r]);
                }
            }
            if (finished.All(f => f)) break;
            var nextTensor = tensor(next, [rows, 1], ScalarType.Int64, device);                       // (B, 1)
            seen.scatter_(1, nextTensor, ones_like(nextTensor, dtype: ScalarType.Bool));
            input = nextTensor.MoveToOuterDisposeScope();
            attention = null; // later tokens continue each row's sample (the cache keeps the padding mask)
        }
        return responses.Select(r => r.ToArray()).ToList();
    }

    /// <summary>Picks the next token of each row from (B, V) fp32 logits.</summary>
    Tensor NextTokens(Tensor logits, Tensor seen, SamplingSettings settings)
    {
        if (settings.RepetitionPenalty is var penalty && Math.Abs(penalty - 1.0) > 1e-9)
        {
            // HF: a seen token's logit is divided by the penalty when positive, multiplied when negative.
            var penalised = where(logits.lt(0), logits * penalty, logits / penalty);
            logits = where(seen, penalised, logits);
        }
        if (!settings.DoSample) return logits.argmax(-1);
        if (settings.Temperature > 0 && Math.Abs(settings.Temperature - 1.0) > 1e-9) logits = logits / settings.Temperature;
        if (settings.TopK > 0 && settings.TopK < logits.shape[1])
        {
            var kth = logits.topk(settings.TopK, dim: -1).values.narrow(1, settings.TopK - 1, 1);      // (B, 1)
            logits = logits.masked_fill(logits.lt(kth), double.NegativeInfinity);
        }
        if (settings.TopP < 1.0)
        {
            var (sorted, order) = logits.sort(-1, descending: true);                                     // (B, V)
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop a token when the tokens before it already hold top_p of the mass (the first is always kept).
            var drop = (cumulative - sorted.softmax(-1)).ge(settings.TopP);
            var dropped = zeros_like(drop).scatter_(1, order, drop);
            logits = logits.masked_fill(dropped, double.NegativeInfinity);
        }
        var probabilities = logits.softmax(-1).cpu();
        return probabilities.multinomial(1, false, generator).squeeze(1);
    }

    /// <inheritdoc />
    public void Dispose() => generator.Dispose();
}
