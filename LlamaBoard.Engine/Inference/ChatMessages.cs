using LlamaBoard.Engine.Data;

namespace LlamaBoard.Engine.Inference;

/// <summary>A bad chat request (wrong roles, invalid tools JSON, unknown model, bad settings); the message says what to fix.</summary>
public sealed class ChatRequestException(string message, string? parameter = null) : Exception(message)
{
    /// <summary>The request field at fault (OpenAI's <c>param</c>), if known.</summary>
    public string? Parameter { get; } = parameter;
}

/// <summary>
/// One chat turn to answer. <see cref="Messages"/> alternate as in LLaMA-Factory: user or observation (a tool
/// result) at even positions, assistant or function (a tool call, JSON) at odd ones, ending with user or
/// observation. Unset settings take the engine's defaults (the configuration's generating keys).
/// </summary>
public sealed record ChatRequest
{
    /// <summary>The conversation so far.</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    /// <summary>System prompt; null or empty uses the template's default (or default_system).</summary>
    public string? System { get; init; }
    /// <summary>Tool definitions as JSON text (a list of function schemas, OpenAI-wrapped or not); null for none.</summary>
    public string? Tools { get; init; }
    /// <summary>The base model's or an adapter's name; null uses the engine's default.</summary>
    public string? Model { get; init; }
    /// <summary>do_sample.</summary>
    public bool? DoSample { get; init; }
    /// <summary>temperature (0 = greedy).</summary>
    public double? Temperature { get; init; }
    /// <summary>top_p.</summary>
    public double? TopP { get; init; }
    /// <summary>top_k.</summary>
    public int? TopK { get; init; }
    /// <summary>repetition_penalty.</summary>
    public double? RepetitionPenalty { get; init; }
    /// <summary>max_new_tokens.</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>Seed of the sampler (same seed, same prompt, same settings: same reply).</summary>
    public long? Seed { get; init; }
    /// <summary>Texts that end the reply (not included in it).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Reasoning templates: let the model think first; null uses enable_thinking.</summary>
    public bool? EnableThinking { get; init; }
    /// <summary>Leave special tokens out of the text; null uses skip_special_tokens.</summary>
    public bool? SkipSpecialTokens { get; init; }
}

/// <summary>A finished reply.</summary>
/// <param name="Model">The model or adapter that answered.</param>
/// <param name="Text">The answer (without the thought); empty when the reply is tool calls.</param>
/// <param name="Thought">The reasoning of a reasoning template's reply, or null.</param>
/// <param name="ToolCalls">Tool calls parsed from the answer (empty when it is plain text).</param>
/// <param name="RawText">Everything generated, thought words included (what the history keeps).</param>
/// <param name="FinishReason">stop, length, tool_calls or cancelled.</param>
/// <param name="PromptTokens">Tokens in the prompt.</param>
/// <param name="CompletionTokens">Tokens generated (the stop token included, as the OpenAI API counts).</param>
/// <param name="TimeToFirstToken">From the start of generation to the first token.</param>
/// <param name="Duration">The whole generation.</param>
public sealed record ChatResponse(string Model, string Text, string? Thought, IReadOnlyList<ToolCall> ToolCalls, string RawText,
                                  FinishReason FinishReason, int PromptTokens, int CompletionTokens,
                                  TimeSpan TimeToFirstToken, TimeSpan Duration);

/// <summary>A piece of a streamed reply: thought or answer text, or the finished reply (last).</summary>
/// <param name="Part">Thought or answer.</param>
/// <param name="Text">The new text.</param>
/// <param name="Final">Set on the last chunk only, with empty text.</param>
public sealed record ChatChunk(ReplyPart Part, string Text, ChatResponse? Final = null);
