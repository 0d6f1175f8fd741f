using System.Diagnostics;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Inference;

/// <summary>Why a row stopped generating.</summary>
public enum FinishReason
{
    /// <summary>A stop token (EOS or a template stop word), or the caller's stop condition (a stop string).</summary>
    Stop,
    /// <summary>max_new_tokens was reached.</summary>
    Length,
    /// <summary>The generation was cancelled.</summary>
    Cancelled,
    /// <summary>The reply is a tool call (set by the chat engine, never by the generator).</summary>
    ToolCalls,
}

/// <summary>What to generate: prompts (token ids, one list per row), decoding settings and the ids that end a row.</summary>
/// <param name="Prompts">One token list per row; rows may differ in length (they are padded on the left).</param>
/// <param name="Sampling">Greedy or sampling settings, max_new_tokens and seed.</param>
/// <param name="StopTokenIds">Ids that end a row (EOS and the template's stop words); the stop token is not part of the output.</param>
/// <param name="PadTokenId">Id written into left padding (never attended to).</param>
public sealed record GenerationRequest(IReadOnlyList<IReadOnlyList<int>> Prompts, SamplingOptions Sampling,
                                       IReadOnlyCollection<int> StopTokenIds, int PadTokenId);

/// <summary>One decoding step, reported to the caller after the step (outside any dispose scope).</summary>
/// <param name="Index">0 for the first generated token.</param>
/// <param name="Tokens">Per row, the token that joined the output, or -1 (the row had finished, or it chose a stop token).</param>
/// <param name="Finished">Per row, whether the row has finished (after this step).</param>
public sealed record GenerationStep(int Index, IReadOnlyList<int> Tokens, IReadOnlyList<bool> Finished);

/// <summary>The output of one row.</summary>
/// <param name="Tokens">Generated ids, without the stop token.</param>
/// <param name="Reason">Why the row stopped.</param>
public sealed record GeneratedSequence(IReadOnlyList<int> Tokens, FinishReason Reason);

/// <summary>Every row's output, with timings.</summary>
/// <param name="Sequences">One per prompt, in order.</param>
/// <param name="TimeToFirstToken">From the call to the first token of every row (the prompt's forward pass plus one choice).</param>
/// <param name="DecodeTime">From the first token to the end.</param>
/// <param name="Steps">Tokens generated per row (the longest row).</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedSequence> Sequences, TimeSpan TimeToFirstToken, TimeSpan DecodeTime, int Steps)
{
    /// <summary>Decode speed: steps after the first, times rows, per second of decoding.</summary>
    public double DecodeTokensPerSecond(int rows) =>
        DecodeTime.TotalSeconds > 0 && Steps > 1 ? (Steps - 1) * (double)rows / DecodeTime.TotalSeconds : 0;
}

/// <summary>
/// Autoregressive generation with the KV cache: one forward pass over the (left-padded) prompts, then one token per
/// row per step, each step inside its own dispose scope so memory stays flat however long the reply (only the KV
/// cache grows). Runs synchronously on the calling thread (dispose scopes and no_grad are per thread).
/// </summary>
/// <remarks>
/// Left padding: rows are right-aligned so their next tokens line up. The attention mask is 0 on padding, and
/// positions count from each row's first real token, so a padded row computes what it would compute alone:
/// <code>
///   row 0:  p p a b c │ x y      positions 0 0 0 1 2 │ 3 4
///   row 1:  d e f g h │ u v      positions 0 1 2 3 4 │ 5 6
/// </code>
/// Rows that finish early keep being fed padding (their output is ignored) until every row is done.
/// </remarks>
public sealed class TokenGenerator(DecoderModel model)
{
    /// <summary>The model.</summary>
    public DecoderModel Model { get; } = model;

    /// <summary>
    /// Generates for every prompt of <paramref name="request"/>. <paramref name="onStep"/> sees each step as it
    /// happens (return false to stop every row with <see cref="FinishReason.Stop"/>); cancelling
    /// <paramref name="cancellation"/> stops after the current token with <see cref="FinishReason.Cancelled"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No prompts, an empty prompt, or invalid settings.</exception>
    public GenerationResult Generate(GenerationRequest request, Func<GenerationStep, bool>? onStep = null,
                                     CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Sampling.Validate();
        var prompts = request.Prompts;
        if (prompts.Count == 0) throw new ArgumentException("There is no prompt to generate from.", nameof(request));
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("A prompt is empty; every row needs at least one token.", nameof(request));
        int vocab = Model.Config.VocabSize;
        if (prompts.SelectMany(p => p).Any(id => id < 0 || id >= vocab))
            throw new ArgumentException($"A prompt holds a token id outside the model's vocabulary (0..{vocab - 1}).", nameof(request));

        int rows = prompts.Count;
        var device = Model.Device;
        var stops = request.StopTokenIds.ToHashSet();
        int maxNew = request.Sampling.MaxNewTokens;
        var outputs = new List<int>[rows];
        var reasons = new FinishReason?[rows];
        for (int r = 0; r < rows; r++) outputs[r] = [];

        var clock = Stopwatch.StartNew();
        TimeSpan firstToken = TimeSpan.Zero;
        using var noGrad = no_grad();
        using var cache = Model.CreateCache();
        using var chooser = new TokenChooser(request.Sampling, device);
        Tensor? seen = null;    // (B, V) bool: tokens each row holds, for the repetition penalty
        Tensor? logits = null;  // (B, V): the next token's logits, carried from one step to the next
        try
        {
            (logits, seen) = Prefill(prompts, request, cache, device);
            int[] lengths = [.. prompts.Select(p => p.Count)];
            for (int step = 0; ; step++)
            {
                long[] chosen;
                using (NewDisposeScope())
                {
                    using var next = chooser.Choose(logits, seen);                          // (B)
                    chosen = next.cpu().data<long>().ToArray();
                }
                if (step == 0) firstToken = clock.Elapsed;

                var emitted = new int[rows];
                for (int r = 0; r < rows; r++)
                {
                    emitted[r] = -1;
                    if (reasons[r] is not null) continue;
                    int token = (int)chosen[r];
                    if (stops.Contains(token)) { reasons[r] = FinishReason.Stop; continue; }
                    outputs[r].Add(token);
                    emitted[r] = token;
                    if (outputs[r].Count >= maxNew) reasons[r] = FinishReason.Length;
                }
                bool keepGoing = onStep?.Invoke(new GenerationStep(step, emitted, [.. reasons.Select(x => x is not null)])) ?? true;
                if (!keepGoing)
                    for (int r = 0; r < rows; r++) reasons[r] ??= FinishReason.Stop;
                if (cancellation.IsCancellationRequested)
                    for (int r = 0; r < rows; r++) reasons[r] ??= FinishReason.Cancelled;
                if (reasons.All(x => x is not null)) break;

                using (NewDisposeScope())
                {
                    // Finished rows are fed padding; what they compute is never used.
                    var feedIds = new long[rows];
                    var feedPositions = new long[rows];
                    for (int r = 0; r < rows; r++)
                    {
                        feedIds[r] = reasons[r] is null ? chosen[r] : request.PadTokenId;
                        feedPositions[r] = lengths[r] + step;
                    }
                    var feed = tensor(feedIds, [rows, 1], ScalarType.Int64, device);                  // (B, 1)
                    var positions = tensor(feedPositions, [rows, 1], ScalarType.Int64, device);       // (B, 1)
                    seen?.scatter_(1, feed, ones(rows, 1, dtype: ScalarType.Bool, device: device));
                    var hidden = Model.ForwardHidden(feed, positions, cache: cache);                  // (B, 1, H)
                    var nextLogits = Model.ComputeLogits(hidden).squeeze(1).DetachFromDisposeScope(); // (B, V)
                    logits.Dispose();
                    logits = nextLogits;
                }
            }
        }
        finally
        {
            logits?.Dispose();
            seen?.Dispose();
        }
        var total = clock.Elapsed;
        var sequences = outputs.Select((tokens, r) => new GeneratedSequence(tokens, reasons[r] ?? FinishReason.Length)).ToList();
        int steps = outputs.Max(o => o.Count) + (reasons.Any(r => r == FinishReason.Stop) ? 1 : 0);
        return new GenerationResult(sequences, firstToken, total - firstToken, steps);
    }

    /// <summary>One forward pass over the left-padded prompts: the last position's logits (B, V) and the seen-token mask.</summary>
    (Tensor Logits, Tensor? Seen) Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationRequest request, KvCache cache, Device device)
    {
        using var scope = NewDisposeScope();
        int rows = prompts.Count;
        int length = prompts.Max(p => p.Count);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var positions = new long[rows * length];
        for (int r = 0; r < rows; r++)
        {
            var prompt = prompts[r];
            int pad = length - prompt.Count;
            for (int t = 0; t < length; t++)
            {
                bool real = t >= pad;
                ids[r * length + t] = real ? prompt[t - pad] : request.PadTokenId;
                mask[r * length + t] = real ? 1 : 0;
                positions[r * length + t] = real ? t - pad : 0;
            }
        }
        bool padded = prompts.Any(p => p.Count != length);
        var input = tensor(ids, [rows, length], ScalarType.Int64, device);                              // (B, T)
        var attention = padded ? tensor(mask, [rows, length], ScalarType.Int64, device) : null;         // (B, T)
        var positionIds = tensor(positions, [rows, length], ScalarType.Int64, device);                  // (B, T)
        var hidden = Model.ForwardHidden(input, positionIds, attention, cache);                         // (B, T, H)
        var logits = Model.ComputeLogits(hidden.narrow(1, length - 1, 1)).squeeze(1);                    // (B, V)

        Tensor? seen = null;
        if (request.Sampling.RepetitionPenalty != 1.0)
        {
            // Only real prompt tokens count: padding is not part of a row's text (transformers penalises it too,
            // which would make a padded row differ from the same prompt alone).
            int vocab = Model.Config.VocabSize;
            var marks = new bool[rows * vocab];
            for (int r = 0; r < rows; r++)
                foreach (int id in prompts[r]) marks[r * vocab + id] = true;
            seen = tensor(marks, [rows, vocab], ScalarType.Bool, device).DetachFromDisposeScope();     // (B, V)
        }
        return (logits.DetachFromDisposeScope(), seen);
    }
}
