using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Inference;

/// <summary>
/// How the next token is chosen, with transformers' names and meanings: greedy (<see cref="DoSample"/> false, or a
/// temperature of 0, as LLaMA-Factory treats it) or sampling from the logits after the repetition penalty,
/// temperature, top-k and top-p, in that order (the order of transformers' logits processors).
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>do_sample: sample the next token; false takes the most likely one.</summary>
    public bool DoSample { get; init; } = true;
    /// <summary>temperature: divides the logits before sampling; 0 means greedy.</summary>
    public double Temperature { get; init; } = 0.95;
    /// <summary>top_p: sample from the fewest tokens whose probabilities add up to at least top_p (1 = off).</summary>
    public double TopP { get; init; } = 0.7;
    /// <summary>top_k: sample among the k most likely tokens only (0 = off).</summary>
    public int TopK { get; init; } = 50;
    /// <summary>repetition_penalty: above 1 discourages tokens already in the prompt or the reply (1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>max_new_tokens: the most tokens generated per row.</summary>
    public int MaxNewTokens { get; init; } = 1024;
    /// <summary>
    /// Seed of this generation's own random generator; null draws one. Sampling never touches libtorch's global
    /// generator, so a training running in the same process neither disturbs nor is disturbed by it.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>True when the next token is the arg-max (no sampling).</summary>
    public bool IsGreedy => !DoSample || Temperature <= 0;

    /// <summary>Greedy decoding of up to <paramref name="maxNewTokens"/> tokens.</summary>
    public static SamplingOptions Greedy(int maxNewTokens = 1024) => new() { DoSample = false, MaxNewTokens = maxNewTokens };

    /// <summary>The decoding keys of a configuration (do_sample, temperature, top_p, top_k, repetition_penalty, max_new_tokens).</summary>
    public static SamplingOptions From(GeneratingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SamplingOptions
        {
            DoSample = options.DoSample,
            Temperature = options.Temperature,
            TopP = options.TopP,
            TopK = options.TopK,
            RepetitionPenalty = options.RepetitionPenalty,
            MaxNewTokens = options.MaxNewTokens,
        };
    }

    /// <summary>Checks the values; the message names the setting and what is allowed.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new ArgumentException($"temperature must be at least 0, got {Temperature}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top_p must be in (0, 1], got {TopP}.");
        if (TopK < 0) throw new ArgumentException($"top_k must be at least 0, got {TopK}.");
        if (!(RepetitionPenalty > 0)) throw new ArgumentException($"repetition_penalty must be greater than 0, got {RepetitionPenalty}.");
        if (MaxNewTokens < 1) throw new ArgumentException($"max_new_tokens must be at least 1, got {MaxNewTokens}.");
    }
}
