namespace LlamaBoard.Engine.Configuration;

/// <summary>Decoding settings for chat, the API, PPO rollouts and predictions (LLaMA-Factory's generating arguments).</summary>
public sealed class GeneratingOptions
{
    /// <summary>Sample the next token; false decodes greedily (or with beams).</summary>
    [OptionKey("do_sample", OptionSection.Generate, "Sample tokens; false picks the most likely token each step (greedy, or beam search).")]
    public bool DoSample { get; set; } = true;

    /// <summary>Softmax temperature; lower is more deterministic.</summary>
    [OptionKey("temperature", OptionSection.Generate, "Divides the logits before sampling; lower is more deterministic.")]
    [GreaterThan(0)]
    public double Temperature { get; set; } = 0.95;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability adds up to top_p.</summary>
    [OptionKey("top_p", OptionSection.Generate, "Nucleus sampling: sample from the fewest tokens whose probabilities add up to top_p.")]
    [GreaterThan(0), AtMost(1)]
    public double TopP { get; set; } = 0.7;

    /// <summary>Sample only among the k most likely tokens; 0 turns the filter off.</summary>
    [OptionKey("top_k", OptionSection.Generate, "Sample among the k most likely tokens only; 0 turns this filter off.")]
    [AtLeast(0)]
    public int TopK { get; set; } = 50;

    /// <summary>Beams for beam search; 1 means none.</summary>
    [OptionKey("num_beams", OptionSection.Generate, "Beams for beam search; 1 means no beam search.")]
    [AtLeast(1)]
    public int NumBeams { get; set; } = 1;

    /// <summary>Limit on prompt plus generated tokens; max_new_tokens takes precedence when positive.</summary>
    [OptionKey("max_length", OptionSection.Generate, "Limit on prompt plus generated tokens; max_new_tokens wins when it is set.")]
    [AtLeast(1)]
    public int MaxLength { get; set; } = 1024;

    /// <summary>Limit on generated tokens, not counting the prompt.</summary>
    [OptionKey("max_new_tokens", OptionSection.Generate, "Most tokens generated per reply, not counting the prompt.")]
    [AtLeast(1)]
    public int MaxNewTokens { get; set; } = 1024;

    /// <summary>Penalty on tokens already present; 1 means none.</summary>
    [OptionKey("repetition_penalty", OptionSection.Generate, "Penalty on tokens that already appeared; 1.0 means none.")]
    [GreaterThan(0)]
    public double RepetitionPenalty { get; set; } = 1.0;

    /// <summary>Exponent on length in beam scores: above 1 favours longer, below 1 shorter.</summary>
    [OptionKey("length_penalty", OptionSection.Generate, "Beam search: exponent on length in beam scores (above 1 favours longer replies).")]
    public double LengthPenalty { get; set; } = 1.0;

    /// <summary>Drop special tokens from decoded text.</summary>
    [OptionKey("skip_special_tokens", OptionSection.Generate, "Leave special tokens out of decoded text.")]
    public bool SkipSpecialTokens { get; set; } = true;
}
