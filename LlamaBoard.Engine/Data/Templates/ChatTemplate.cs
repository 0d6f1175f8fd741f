namespace LlamaBoard.Engine.Data.Templates;

/// <summary>How a template places the system prompt and thoughts.</summary>
public enum TemplateKind
{
    /// <summary>Prefix and system prompt before the first user message.</summary>
    Standard,
    /// <summary>The system prompt is folded into the first user message (Llama 2, Mistral, Gemma).</summary>
    SystemInFirstUser,
    /// <summary>Standard layout, plus thought blocks (<c>&lt;think&gt;…&lt;/think&gt;</c>) on the final response.</summary>
    Reasoning,
}

/// <summary>
/// A chat template as data, with LLaMA-Factory's semantics: formats for each role, the tool formats, stop words,
/// EOS handling and thought words. <see cref="TemplateFormatter"/> turns a conversation into slots with it.
/// </summary>
public sealed record ChatTemplate
{
    /// <summary>The registry name (LLaMA-Factory's <c>template</c> value).</summary>
    public required string Name { get; init; }
    /// <summary>A user turn; also ends with the assistant's header, so the prompt cues the response.</summary>
    public required SlotFormat User { get; init; }
    /// <summary>An assistant turn (the learned response).</summary>
    public required SlotFormat Assistant { get; init; }
    /// <summary>The system prompt (tool descriptions appended to it).</summary>
    public required SlotFormat System { get; init; }
    /// <summary>A tool-call turn; its content is the function call rendered by <see cref="ToolFormat"/>.</summary>
    public required SlotFormat Function { get; init; }
    /// <summary>A tool result turn.</summary>
    public required SlotFormat Observation { get; init; }
    /// <summary>Before everything (typically BOS).</summary>
    public SlotFormat Prefix { get; init; } = SlotFormat.Empty;
    /// <summary>How tool descriptions and tool calls are written (default, qwen, llama3, mistral).</summary>
    public string ToolFormat { get; init; } = "default";
    /// <summary>The system prompt used when an example has none.</summary>
    public string DefaultSystem { get; init; } = "";
    /// <summary>Tokens that end generation; the first replaces EOS when <see cref="ReplaceEos"/> is set.</summary>
    public IReadOnlyList<string> StopWords { get; init; } = [];
    /// <summary>The opening and closing thought words of reasoning templates.</summary>
    public (string Open, string Close) ThoughtWords { get; init; } = ("<think>\n", "\n</think>\n\n");
    /// <summary>Words that mark a tool call inside an assistant message.</summary>
    public (string Open, string Close) ToolCallWords { get; init; } = ("<tool_call>", "</tool_call>");
    /// <summary>The EOS token is not part of each response but appended once at the end (and learned in place of the next prompt's first token).</summary>
    public bool EfficientEos { get; init; }
    /// <summary>The template's first stop word is the EOS token (chat models whose turn end differs from the base EOS).</summary>
    public bool ReplaceEos { get; init; }
    /// <summary>Where the system prompt goes and whether thoughts are handled.</summary>
    public TemplateKind Kind { get; init; } = TemplateKind.Standard;
    /// <summary>
    /// Reasoning templates: true learns an empty thought on responses that have none; false removes thoughts and
    /// puts the empty thought in the prompt (LLaMA-Factory's <c>enable_thinking</c>).
    /// </summary>
    public bool EnableThinking { get; init; } = true;

    /// <summary>
    /// Reasoning templates: keep the thoughts of answers before the last user query (the model's own template,
    /// and so the default here, drops them; LLaMA-Factory's <c>preserve_thinking</c>).
    /// </summary>
    public bool PreserveThinking { get; init; }

    /// <summary>The empty thought block ("&lt;think&gt;\n\n&lt;/think&gt;\n\n" for Qwen 3).</summary>
    public string EmptyThought => ThoughtWords.Open + ThoughtWords.Close;
}
