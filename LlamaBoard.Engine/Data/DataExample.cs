namespace LlamaBoard.Engine.Data;

/// <summary>Who speaks a message, in LLaMA-Factory's five roles.</summary>
public enum ChatRole
{
    /// <summary>The human's turn.</summary>
    User,
    /// <summary>The model's answer.</summary>
    Assistant,
    /// <summary>A system prompt (only ever the first message in a source; carried in <see cref="DataExample.System"/>).</summary>
    System,
    /// <summary>The model's tool call: JSON <c>{"name", "arguments"}</c> or a list of them.</summary>
    Function,
    /// <summary>A tool's result, in the user's place.</summary>
    Observation,
}

/// <summary>One message of a conversation.</summary>
public sealed record ChatMessage(ChatRole Role, string Content)
{
    /// <summary>The role as LLaMA-Factory and the OpenAI API spell it.</summary>
    public string RoleName => Role switch
    {
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        ChatRole.System => "system",
        ChatRole.Function => "function",
        _ => "observation",
    };
}

/// <summary>Where an example came from, for error messages and the preview.</summary>
public sealed record ExampleOrigin(string Dataset, string File, long RecordIndex, int? Line = null);

/// <summary>
/// One training example in the single model every format converts into.
/// <list type="bullet">
/// <item><see cref="Messages"/> alternate: user or observation on even indexes (0, 2, …), assistant or function on
/// odd ones. A supervised or KTO example ends with the response (an assistant or function message); a pairwise
/// or prompt-only example ends with the user's turn.</item>
/// <item><see cref="Chosen"/>/<see cref="Rejected"/> are the two candidate responses of a preference example.</item>
/// <item><see cref="KtoLabel"/> says whether the final response is desirable (KTO).</item>
/// <item>For pre-training, the text is the first message's content.</item>
/// </list>
/// </summary>
public sealed record DataExample
{
    /// <summary>The conversation (see the class remarks for its shape).</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    /// <summary>The system prompt; empty means the template's default system prompt is used.</summary>
    public string System { get; init; } = "";
    /// <summary>Tool descriptions as JSON text (a list of function schemas); empty when none.</summary>
    public string Tools { get; init; } = "";
    /// <summary>The preferred response of a preference pair.</summary>
    public ChatMessage? Chosen { get; init; }
    /// <summary>The dispreferred response of a preference pair.</summary>
    public ChatMessage? Rejected { get; init; }
    /// <summary>KTO: whether the final response is desirable; null when the example has no KTO label.</summary>
    public bool? KtoLabel { get; init; }
    /// <summary>Where the example came from.</summary>
    public required ExampleOrigin Origin { get; init; }

    /// <summary>True when the conversation ends with a response (an even number of messages).</summary>
    public bool HasResponse => Messages.Count > 0 && Messages.Count % 2 == 0;

    /// <summary>True for a preference example.</summary>
    public bool IsPairwise => Chosen is not null && Rejected is not null;
}
