using System.Text;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Web.Chat;

/// <summary>One exchange in a pane: the user's message and the reply as it streams in.</summary>
public sealed class ChatExchange(string user)
{
    // Appended by the generating thread while the renderer reads: every access takes the lock.
    readonly Lock sync = new();
    readonly StringBuilder thought = new();
    readonly StringBuilder answer = new();

    /// <summary>The user's message.</summary>
    public string User { get; } = user;
    /// <summary>The reasoning so far (reasoning templates only).</summary>
    public string Thought { get { lock (sync) return thought.ToString(); } }
    /// <summary>The answer so far.</summary>
    public string Answer { get { lock (sync) return answer.ToString(); } }
    /// <summary>The finished reply; null while streaming, or when it failed or was stopped before the end.</summary>
    public ChatResponse? Final { get; internal set; }
    /// <summary>Why the reply failed, in plain words; null otherwise.</summary>
    public string? Error { get; internal set; }
    /// <summary>True while tokens are arriving.</summary>
    public bool Streaming { get; internal set; }
    /// <summary>The user pressed Stop during this reply.</summary>
    public bool Stopped { get; internal set; }

    internal void Add(ChatChunk chunk)
    {
        lock (sync) (chunk.Part == ReplyPart.Thought ? thought : answer).Append(chunk.Text);
    }

    /// <summary>The assistant turn the history keeps: the answer (thought left out), or the tool calls as JSON.</summary>
    internal Engine.Data.ChatMessage? AssistantTurn() => Final switch
    {
        null => null,
        { ToolCalls.Count: > 0 } f => new(Engine.Data.ChatRole.Function, System.Text.Json.JsonSerializer.Serialize(
            f.ToolCalls.Select(c => new { name = c.Name, arguments = System.Text.Json.JsonDocument.Parse(c.Arguments).RootElement }))),
        var f => new(Engine.Data.ChatRole.Assistant, f.Text),
    };
}

/// <summary>The conversation of one pane (the base model or one adapter).</summary>
public sealed class ChatPaneState(ChatTarget target)
{
    /// <summary>Which model answers in this pane.</summary>
    public ChatTarget Target { get; } = target;

    /// <summary>Every exchange, oldest first.</summary>
    public List<ChatExchange> Exchanges { get; } = [];

    /// <summary>
    /// The conversation to send with <paramref name="message"/>: the finished exchanges (user, assistant), then the
    /// new user message. Failed or stopped exchanges stay on screen but out of the model's history.
    /// </summary>
    public List<Engine.Data.ChatMessage> History(string message)
    {
        var messages = new List<Engine.Data.ChatMessage>();
        foreach (var exchange in Exchanges)
        {
            if (exchange.AssistantTurn() is not { } assistant) continue;
            messages.Add(new(Engine.Data.ChatRole.User, exchange.User));
            messages.Add(assistant);
        }
        messages.Add(new(Engine.Data.ChatRole.User, message));
        return messages;
    }
}
