using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Loss;
using LlamaBoard.Engine.Training.Preference;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Ppo;

/// <summary>What a forward pass over some rollout rows gives PPO, each (n, R) over response tokens.</summary>
/// <param name="LogProbs">log π(response token) (0 on padding).</param>
/// <param name="Values">Value-head outputs at the positions that predict each response token, or null without a head.</param>
/// <param name="Entropy">Mean entropy of the next-token distribution over the response tokens, or null when not asked for.</param>
public sealed record ResponseScores(Tensor LogProbs, Tensor? Values, double? Entropy);

/// <summary>
/// The sequences of one PPO step: each prompt (query) followed by its generated response. PPO's per-token tensors
/// are (N, R), R the longest response: entry j of row i is response token j, predicted from position q_i − 1 + j of
/// the right-padded sequence (q_i the query length).
/// <code>
///   sequence  q q q q r r r . .      (right-padded to T)
///   position        ↑ ↑ ↑            predicts r₀ r₁ r₂  →  column 0 1 2 of the (N, R) tensors
/// </code>
/// </summary>
public sealed class Rollout
{
    /// <summary>Builds a rollout from queries and their responses (each response non-empty).</summary>
    public Rollout(IReadOnlyList<int[]> queries, IReadOnlyList<int[]> responses)
    {
        if (queries.Count != responses.Count) throw new ArgumentException("one response per query is needed.", nameof(responses));
        if (responses.Any(r => r.Length == 0)) throw new ArgumentException("a response is empty.", nameof(responses));
        Queries = queries;
        Responses = responses;
        Sequences = queries.Zip(responses, (q, r) => (int[])[.. q, .. r]).ToList();
        MaxResponse = responses.Max(r => r.Length);
    }

    /// <summary>The prompts.</summary>
    public IReadOnlyList<int[]> Queries { get; }
    /// <summary>The generated responses.</summary>
    public IReadOnlyList<int[]> Responses { get; }
    /// <summary>Query + response of each row.</summary>
    public IReadOnlyList<int[]> Sequences { get; }
    /// <summary>Rows N.</summary>
    public int Count => Sequences.Count;
    /// <summary>Longest response R.</summary>
    public int MaxResponse { get; }

    /// <summary>(N, R) fp32 mask: 1 on each row's response tokens.</summary>
    public Tensor Mask(Device device) => MaskOf(Enumerable.Range(0, Count).ToArray(), device);

    Tensor MaskOf(int[] rows, Device device)
    {
        var mask = new float[rows.Length * MaxResponse];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < Responses[rows[i]].Length; j++) mask[i * MaxResponse + j] = 1;
        return tensor(mask, [rows.Length, MaxResponse], device: device);
    }

    /// <summary>
    /// Runs <paramref name="model"/> (and <paramref name="head"/>) over <paramref name="rows"/> and scores their
    /// response tokens. Differentiable when grad is enabled; no dispose scope of its own (activation checkpointing).
    /// </summary>
    public ResponseScores Forward(DecoderModel model, ValueHead? head, int[] rows, bool entropy = false)
    {
        var device = model.Device;
        var collator = new DataCollator(padTokenId: 0, padToMultipleOf: 1);
        // Not disposed here: with activation checkpointing the backward pass replays layers with these tensors; the
        // caller's dispose scope owns them.
        var batch = collator.Pad(rows.Select(r => new TokenSequence(Sequences[r], Sequences[r])).ToList(), device: device);
        var hidden = model.ForwardHidden(batch.InputIds, batch.PositionIds, batch.AttentionMask);      // (n, T, H)
        long n = rows.Length, length = hidden.shape[1];
        var positions = new long[n * MaxResponse];
        var labels = new long[n * MaxResponse];
        for (int i = 0; i < n; i++)
        {
            var (query, response) = (Queries[rows[i]], Responses[rows[i]]);
            for (int j = 0; j < MaxResponse; j++)
            {
                bool real = j < response.Length;
                positions[i * MaxResponse + j] = real ? query.Length - 1 + j : 0;
                labels[i * MaxResponse + j] = real ? response[j] : 0;
            }
        }
        var index = tensor(positions, [n, MaxResponse], ScalarType.Int64, device);                   // (n, R)
        var selected = hidden.gather(1, index.unsqueeze(-1).expand(n, MaxResponse, hidden.shape[2])); // (n, R, H)
        var mask = MaskOf(rows, device).to_type(ScalarType.Bool);                                    // (n, R)
        var flat = selected[mask];                                                                    // (M, H)
        var tokenLogps = ChunkedLogProbs.PerToken(model, flat, tensor(labels, [n, MaxResponse], ScalarType.Int64, device)[mask]); // (M)
        var slots = mask.flatten().nonzero().squeeze(1);                                             // (M) flat (row, column) slots
        var logprobs = zeros(n * MaxResponse, dtype: ScalarType.Float32, device: device)
                       .index_add(0, slots, tokenLogps, 1).view(n, MaxResponse);                     // (n, R)
        var values = head?.call(selected);                                                            // (n, R)
        double? meanEntropy = entropy ? ChunkedLogProbs.Entropy(model, flat.detach()).mean().item<float>() : null;
        return new ResponseScores(logprobs, values, meanEntropy);
    }
}
